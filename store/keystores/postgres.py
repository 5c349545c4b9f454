"""KEY_STORE_URL=postgresql://...: a table of wrapped keys in a database of its own, excluded from the main
database's backups. The store creates its table itself; the main database's migrations never see it."""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, create_engine, delete, select
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from store import KeyStoreUnavailable
from store.keystores.base import check_ref

METADATA = MetaData()
KEYS = Table("wrapping_keys", METADATA,
             Column("ref", String(48), primary_key=True),
             Column("wrapped", LargeBinary, nullable=False),
             Column("expires_at", DateTime(timezone=True), nullable=False, index=True))
CREATE_LOCK = 0x6B657973  # advisory lock: two processes creating the table at once


@contextmanager
def map_errors(label: str) -> Iterator[None]:
    try:
        yield
    except (OperationalError, InterfaceError, PoolTimeout) as exc:
        raise KeyStoreUnavailable(label) from exc


class PostgresKeyStore:
    def __init__(self, url: str) -> None:
        parsed = make_url(url).set(drivername="postgresql+psycopg")
        self.engine = create_engine(parsed, pool_pre_ping=True, pool_size=2, max_overflow=3, pool_timeout=5,
                                    connect_args={"connect_timeout": 3, "options": "-c statement_timeout=5000"})
        os.register_at_fork(after_in_child=lambda: self.engine.dispose(close=False))
        self.label = parsed.render_as_string(hide_password=True)
        self._ready = False

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with map_errors(self.label), self.engine.begin() as conn:
            if not self._ready:
                conn.execute(sql("SELECT pg_advisory_xact_lock(:lock)"), {"lock": CREATE_LOCK})
                METADATA.create_all(conn, checkfirst=True)
            yield conn
        self._ready = True

    def put(self, ref: str, wrapped: bytes, expires_at: dt.datetime, replace: bool = True) -> bool:
        row = insert(KEYS).values(ref=check_ref(ref), wrapped=wrapped, expires_at=expires_at)
        statement = (row.on_conflict_do_update(index_elements=[KEYS.c.ref], set_={
            "wrapped": row.excluded.wrapped, "expires_at": row.excluded.expires_at}) if replace
            else row.on_conflict_do_nothing(index_elements=[KEYS.c.ref]))
        with self._transaction() as conn:
            return conn.execute(statement.returning(KEYS.c.ref)).first() is not None

    def get(self, ref: str) -> bytes | None:
        with self._transaction() as conn:
            value = conn.scalar(select(KEYS.c.wrapped).where(KEYS.c.ref == check_ref(ref)))
        return bytes(value) if value is not None else None

    def delete(self, ref: str) -> bool:
        with self._transaction() as conn:
            deleted = conn.execute(delete(KEYS).where(KEYS.c.ref == check_ref(ref)).returning(KEYS.c.ref))
            return deleted.first() is not None

    def purge_expired(self, now: dt.datetime) -> int:
        with self._transaction() as conn:
            return len(conn.execute(delete(KEYS).where(KEYS.c.expires_at <= now).returning(KEYS.c.ref)).all())

    def list_refs(self) -> list[str]:
        with self._transaction() as conn:
            return list(conn.scalars(select(KEYS.c.ref).order_by(KEYS.c.ref)))

    def ping(self) -> None:
        with self._transaction() as conn:
            conn.execute(sql("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()
