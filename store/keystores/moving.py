"""Moving keys from one store to another while the service runs (`flask --app app keys migrate`).

Every process already writes to the target and reads and deletes in both (FallbackKeyStore). Each key is copied
only where the target has none (a newer key under the same name wins), then looked up in the source once more: gone
there means it was deleted meanwhile, so the copy is removed too; else the source's key is removed."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from store.keystores.base import KeyStore, compute_expiry, is_expired


@dataclass
class Moved:
    moved: int = 0  # copied to the target, removed from the source
    already_there: int = 0  # the target held that key already: removed from the source
    deleted_meanwhile: int = 0  # deleted while it was moved: removed from both
    expired: int = 0  # past its expiry hour: destroyed in the source, not moved


def move_keys(source: KeyStore, target: KeyStore, now: dt.datetime) -> Moved:
    result = Moved(expired=source.purge_expired(now))
    for ref in source.list_refs():
        if is_expired(ref, now):
            result.expired += source.delete(ref)
            continue
        wrapped = source.get(ref)
        if wrapped is None:  # deleted since the listing
            result.deleted_meanwhile += 1
            continue
        if not target.put(ref, wrapped, compute_expiry(ref), replace=False):
            result.already_there += 1
        elif source.get(ref) is None:
            target.delete(ref)
            result.deleted_meanwhile += 1
            continue
        else:
            result.moved += 1
        source.delete(ref)
    return result
