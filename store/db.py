"""Engine, session factory and migrations; SQLite gets WAL, a busy timeout, foreign keys and secure_delete; every wait
for the database is bounded (WaitLimits)."""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from store.crypto import ContentCipher

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class WaitLimits:
    """How long anything waits for the database, in seconds (DB_CONNECT_TIMEOUT, DB_STATEMENT_TIMEOUT,
    DB_POOL_TIMEOUT): a database that accepts connections but never answers costs a request seconds, not minutes."""

    connect: float = 5.0
    statement: float = 15.0
    pool: float = 5.0


def _sqlite_pragmas(busy_ms: int) -> Callable[[Any, Any], None]:
    def configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    return configure


def postgres_wait_args(url: str, limits: WaitLimits) -> dict[str, Any]:
    """libpq's connect_timeout (whole seconds, at least 2) for the whole connection set-up, and the server's
    statement_timeout for every statement of the session, added to any `options` the URL carries."""
    timeout = f"-c statement_timeout={round(limits.statement * 1000)}"
    options = make_url(url).query.get("options")
    return {"connect_timeout": max(2, math.ceil(limits.connect)),
            "options": f"{options} {timeout}" if isinstance(options, str) and options else timeout}


def create_db_engine(url: str, limits: WaitLimits | None = None) -> Engine:
    """Build the engine; SQLite connections are not pooled so forked workers never share one. Every wait is
    bounded by `limits`: connecting, each statement (SQLite: waiting for its lock) and a pool checkout."""
    limits = limits or WaitLimits()
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": limits.statement})
        event.listen(engine, "connect", _sqlite_pragmas(round(limits.statement * 1000)))
    else:
        connect_args = postgres_wait_args(url, limits) if make_url(url).get_backend_name() == "postgresql" else {}
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_timeout=limits.pool,
                               connect_args=connect_args)
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    return engine


class Database:
    """The engine plus a session factory; pass it explicitly, never as a global."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessionmaker.begin() as session:
            yield session

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A Core connection whose every statement commits on its own: for hot paths whose writes are each one
        statement (no BEGIN and COMMIT round trips, no ORM)."""
        with self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def checkpoint(self) -> None:
        """Fold the SQLite WAL into the database file so deleted pages do not linger there."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1


def execute_count(session: Session, statement: Executable) -> int:
    """Run an UPDATE/DELETE and return how many rows it touched."""
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def is_schema_current(engine: Engine) -> bool:
    """Whether the database is migrated to the newest revision (False for an empty or older one)."""
    heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads


def upgrade_database(url: str, cipher: ContentCipher | None = None) -> None:
    """Run Alembic migrations up to head against `url`; `cipher` seals personal data in existing rows."""
    config = _alembic_config()
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["cipher"] = cipher
    command.upgrade(config, "head")
