"""What every key store offers, and the key names they share.

A key store holds one wrapped key per record outside the main database: the record's data key in the database is
wrapped by it, so destroying it here makes the record unreadable from every copy of the database, backups included.
A key's name (its ref) carries the hour it expires in, `<YYYYMMDDHH>-<record uuid>`, so any store can destroy
expired keys from the names alone, even when the database was restored from an old backup. The stores hold the key
wrapped by CONTENT_KEY (RFC 3394), as opaque bytes: a store's content alone decrypts nothing.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Protocol

HOUR_FORMAT = "%Y%m%d%H"
REF = re.compile(r"^(\d{10})-([0-9a-f-]{36})$")


class KeyStore(Protocol):
    """Wrapped keys by ref. Every method raises store.KeyStoreUnavailable when the store cannot be reached."""

    label: str  # where the keys live, for messages (never a password)

    def put(self, ref: str, wrapped: bytes, expires_at: dt.datetime, replace: bool = True) -> bool:
        """Store durably before returning; with `replace` False only when absent. True if it was written."""
        ...

    def get(self, ref: str) -> bytes | None:
        """The wrapped key, or None when it was destroyed (or never written)."""
        ...

    def delete(self, ref: str) -> bool:
        """Destroy the key at once; True if it existed."""
        ...

    def purge_expired(self, now: dt.datetime) -> int:
        """Destroy every key whose expiry hour is over at `now`; how many."""
        ...

    def list_refs(self) -> list[str]:
        """Every ref held (for moving keys between stores)."""
        ...

    def ping(self) -> None:
        """Raise KeyStoreUnavailable unless the store answers."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def make_ref(record_id: str, expires_at: dt.datetime) -> str:
    """The key's name: its expiry hour (it is destroyed once that hour is over), then the record id."""
    return f"{expires_at.astimezone(dt.UTC):{HOUR_FORMAT}}-{record_id}"


def check_ref(ref: str) -> str:
    if not REF.match(ref):
        raise ValueError("malformed key reference")
    return ref


def compute_expiry(ref: str) -> dt.datetime:
    """The end of the key's expiry hour: from then on the key is destroyed."""
    match = REF.match(ref)
    if match is None:
        raise ValueError("malformed key reference")
    hour = dt.datetime.strptime(match.group(1), HOUR_FORMAT).replace(tzinfo=dt.UTC)
    return hour + dt.timedelta(hours=1)


def is_expired(ref: str, now: dt.datetime) -> bool:
    return compute_expiry(ref) <= now
