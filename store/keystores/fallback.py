"""While keys move to a new store (KEY_STORE_URL) from the old one (KEY_STORE_FALLBACK_URL): new keys go to the new
store, reading falls back to the old one, deleting deletes in both. Together with store.keystores.moving this leaves
no moment in which a key can be read nowhere, and none in which a deleted key survives in either store."""
from __future__ import annotations

import datetime as dt

from store.keystores.base import KeyStore


class FallbackKeyStore:
    def __init__(self, primary: KeyStore, previous: KeyStore) -> None:
        self.primary = primary
        self.previous = previous
        self.label = f"{primary.label} (reading also {previous.label})"

    def put(self, ref: str, wrapped: bytes, expires_at: dt.datetime, replace: bool = True) -> bool:
        return self.primary.put(ref, wrapped, expires_at, replace)

    def get(self, ref: str) -> bytes | None:
        """New store, old store, and the new one once more: a key moved in between (copied into the new store,
        then removed from the old one) is found by the third look."""
        for store in (self.primary, self.previous, self.primary):
            wrapped = store.get(ref)
            if wrapped is not None:
                return wrapped
        return None

    def delete(self, ref: str) -> bool:
        """The old store first: a move that copied the key meanwhile sees it gone there and removes its copy."""
        in_previous = self.previous.delete(ref)
        return self.primary.delete(ref) or in_previous

    def purge_expired(self, now: dt.datetime) -> int:
        return self.previous.purge_expired(now) + self.primary.purge_expired(now)

    def list_refs(self) -> list[str]:
        return sorted(set(self.primary.list_refs()) | set(self.previous.list_refs()))

    def ping(self) -> None:
        self.primary.ping()
        self.previous.ping()

    def close(self) -> None:
        self.primary.close()
        self.previous.close()
