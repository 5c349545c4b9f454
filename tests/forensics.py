"""Forensic scans: raw database bytes (file, WAL, every row), every Redis key and value, folders, logs."""
from __future__ import annotations

import base64
import contextlib
import json
import re
import zlib
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine


def variants(value: str | bytes) -> list[bytes]:
    """The forms a value could take when stored: UTF-8, JSON-escaped; lower case for matching."""
    if isinstance(value, bytes):
        return [value.lower()]
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    return sorted({form.encode().lower() for form in forms if form})


def find_needles(haystack: bytes, needles: dict[str, str | bytes]) -> list[str]:
    """The names of the needles found (case-insensitive) in the haystack."""
    low = haystack.lower()
    return [name for name, value in needles.items() if any(form in low for form in variants(value))]


def read_database(engine: Engine, database_url: str) -> bytes:
    """SQLite: the raw file, WAL and journal; any database: every value of every row of every table."""
    chunks: list[bytes] = []
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm", "-journal"):
            file = path.with_name(path.name + suffix)
            if file.exists():
                chunks.append(file.read_bytes())
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                chunks += [v if isinstance(v, bytes) else str(v).encode() for v in row if v is not None]
    return b"\n".join(chunks)


def read_redis(client: redis.Redis) -> bytes:
    """Every key and every value on the Redis server, whatever its type."""
    chunks: list[bytes] = []
    for key in client.scan_iter(count=1000):
        chunks.append(key)
        kind = client.type(key)
        value: Any
        if kind == b"string":
            value = [client.get(key)]
        elif kind == b"hash":
            value = [x for pair in client.hgetall(key).items() for x in pair]
        elif kind == b"list":
            value = client.lrange(key, 0, -1)
        elif kind == b"set":
            value = list(client.smembers(key))
        elif kind == b"zset":
            value = client.zrange(key, 0, -1)
        elif kind == b"stream":
            value = [x for _, fields in client.xrange(key) for pair in fields.items() for x in pair]
        else:
            value = []
        chunks += [unpacked for v in value if isinstance(v, bytes) for unpacked in unpack(v)]
    return b"\n".join(chunks)


def unpack(value: bytes) -> list[bytes]:
    """A value as stored, and decompressed when RQ zlib-compressed it (job data, exc_info), maybe base64 first."""
    forms = [value]
    for candidate in (value, b64decode_or_empty(value)):
        with contextlib.suppress(zlib.error):
            forms.append(zlib.decompress(candidate))
    return forms


def b64decode_or_empty(value: bytes) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return b""


def read_folder(folder: Path) -> bytes:
    """Every file below a folder (names included)."""
    if not folder.exists():
        return b""
    return b"\n".join(p.name.encode() + b"\n" + (p.read_bytes() if p.is_file() else b"")
                      for p in sorted(folder.rglob("*")))


def realistic_wamid(phone: str) -> str:
    """A message id shaped like WhatsApp's: base64 of a protobuf that carries the sender's number."""
    digits = phone.lstrip("+").encode()
    raw = b"\x1c\x18" + bytes([len(digits)]) + digits + b"\x15\x02\x00\x12\x18\x143AADF8441347E8571C10"
    return "wamid." + base64.b64encode(raw).decode()


def distinctive_words(transcript: str, count: int = 4) -> list[str]:
    """The longest words of what was said (names and addresses are checked on their own)."""
    words = sorted({w for w in re.findall(r"\w+", transcript) if len(w) >= 8}, key=len, reverse=True)
    return words[:count]
