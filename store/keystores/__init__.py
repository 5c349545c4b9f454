"""Where the per-record wrapping keys live, chosen by KEY_STORE_URL: file:// (one machine), redis:// or
postgresql:// (shared by web and workers on several machines). One interface (base.KeyStore), one module per scheme;
only open_key_store knows which."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from settings import POSTGRES_SCHEMES, REDIS_SCHEMES
from store.keystores.base import KeyStore
from store.keystores.fallback import FallbackKeyStore
from store.keystores.files import FileKeyStore
from store.keystores.postgres import PostgresKeyStore
from store.keystores.redis_store import RedisKeyStore


def open_key_store(url: str, fallback_url: str | None = None) -> KeyStore:
    """The store at `url` (reading also `fallback_url` while keys move); nothing connects until first use."""
    store = open_one(url)
    return FallbackKeyStore(store, open_one(fallback_url)) if fallback_url else store


def open_one(url: str) -> KeyStore:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        return FileKeyStore(Path(url2pathname(urlsplit(url).path)))
    if scheme in REDIS_SCHEMES:
        return RedisKeyStore(url)
    if scheme in POSTGRES_SCHEMES:
        return PostgresKeyStore(url)
    raise ValueError(f"unknown key store scheme {scheme!r}: use file://, redis:// or postgresql://")
