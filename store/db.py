"""Engine, session factory and migrations; SQLite gets WAL, a busy timeout, foreign keys and secure_delete."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CursorResult, Engine, Executable, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from store.crypto import ContentCipher

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """Build the engine; SQLite connections are not pooled so forked workers never share one."""
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
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
