"""KEY_STORE_URL=redis://...: one Redis key per wrapped key, expiring with it. Keep this Redis apart from the queue's,
with persistence on (appendonly) and outside the backups."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from store import KeyStoreUnavailable
from store.keystores.base import REF, check_ref, is_expired

PREFIX = "wrapping-key:"
SCAN_BATCH = 500


@contextmanager
def map_errors(label: str) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise KeyStoreUnavailable(label) from exc


def describe_redis_url(url: str) -> str:
    """scheme://host:port/db, never the password."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


class RedisKeyStore:
    def __init__(self, url: str) -> None:
        # a short outage is ridden out by two quick retries; a longer one fails the job, which RQ tries again
        retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 2)
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3, retry=retry,
                                           health_check_interval=30)
        self.label = describe_redis_url(url)

    def put(self, ref: str, wrapped: bytes, expires_at: dt.datetime, replace: bool = True) -> bool:
        """SET with the expiry as Redis's own (EXAT); with `replace` False, only if absent (NX)."""
        with map_errors(self.label):
            return bool(self.client.set(PREFIX + check_ref(ref), wrapped, exat=int(expires_at.timestamp()),
                                        nx=not replace))

    def get(self, ref: str) -> bytes | None:
        with map_errors(self.label):
            value = self.client.get(PREFIX + check_ref(ref))
        return value if isinstance(value, bytes) else None

    def delete(self, ref: str) -> bool:
        with map_errors(self.label):
            return bool(self.client.delete(PREFIX + check_ref(ref)))

    def purge_expired(self, now: dt.datetime) -> int:
        """Redis expires keys itself; this also destroys by name what a clock ahead of Redis's counts as expired."""
        expired = [ref for ref in self.list_refs() if is_expired(ref, now)]
        if not expired:
            return 0
        with map_errors(self.label):
            return int(self.client.delete(*(PREFIX + ref for ref in expired)))

    def list_refs(self) -> list[str]:
        with map_errors(self.label):
            names = [name.decode() if isinstance(name, bytes) else str(name)
                     for name in self.client.scan_iter(match=f"{PREFIX}*", count=SCAN_BATCH)]
        return [ref for name in names if REF.match(ref := name.removeprefix(PREFIX))]

    def ping(self) -> None:
        with map_errors(self.label):
            self.client.ping()

    def close(self) -> None:
        self.client.close()
