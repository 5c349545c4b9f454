"""Bounded waits: a database that accepts connections but never answers, or answers too slowly, costs the webhook
seconds and a 503 (Meta retries it), not a 500 after minutes; /readyz says so as quickly. Each elapsed time is
measured with time.monotonic() and bounded: a bound on a wait, not a sleep."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, make_url, select, text

from app import create_app
from services import get_services
from store.db import WaitLimits, create_db_engine, postgres_wait_args
from store.models import InboundMessage
from tests.helpers import APP_SECRET, TENANT_PHONE, voice_body
from whatsapp.signature import sign_body

BOUND_SECONDS = 10.0  # DB_CONNECT_TIMEOUT is 5 s by default; libpq's own default is to wait forever


class BlackHole:
    """A TCP server that accepts every connection and never sends a byte (a database host that hangs)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)  # kept open, never answered

    def close(self) -> None:
        self.server.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def build_app(app_env: dict[str, str], tmp_path: Path, **overrides: Any) -> Flask:
    config: dict[str, Any] = {k.lower(): v for k, v in app_env.items()}
    config["job_retry_intervals"] = json.loads(config["job_retry_intervals"])
    return create_app({**config, **overrides, "instance_path": str(tmp_path / "instance")})


def post_voice_note(app: Flask) -> tuple[int, dict[str, Any], float]:
    raw = json.dumps(voice_body(TENANT_PHONE, "wamid.bounded", "media-1")).encode()
    started = time.monotonic()
    response = app.test_client().post("/webhook", data=raw, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign_body(APP_SECRET, raw)})
    return response.status_code, response.get_json(), time.monotonic() - started


def test_a_black_holed_database_gets_the_webhook_a_503_within_seconds(
        app_env: dict[str, str], tmp_path: Path, black_hole: BlackHole, caplog: pytest.LogCaptureFixture) -> None:
    app = build_app(app_env, tmp_path, database_url=f"postgresql+psycopg://bench@127.0.0.1:{black_hole.port}/x")
    with caplog.at_level(logging.INFO, logger="handlers.webhook"):
        status, body, elapsed = post_voice_note(app)
    assert black_hole.accepted, "the app never reached the black hole"
    assert (status, body) == (503, {"error": "database unavailable, retry later"})
    assert elapsed < BOUND_SECONDS
    lines = [r.getMessage() for r in caplog.records if r.name == "handlers.webhook"]
    assert lines == ["webhook: database unavailable (OperationalError); answered 503 for Meta to retry"]
    get_services(app).close()


def test_readyz_answers_503_within_seconds_when_the_database_hangs(
        app_env: dict[str, str], tmp_path: Path, black_hole: BlackHole) -> None:
    app = build_app(app_env, tmp_path, database_url=f"postgresql+psycopg://bench@127.0.0.1:{black_hole.port}/x")
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable", "redis": "ok",
                                   "key_store": "ok"}
    assert elapsed < BOUND_SECONDS
    get_services(app).close()


def test_a_statement_that_waits_too_long_gets_the_webhook_a_503(
        app_env: dict[str, str], tmp_path: Path, add_tenant: Any) -> None:
    """A database that answers but is stuck (here: a lock held by another session) is cut off by
    DB_STATEMENT_TIMEOUT (PostgreSQL: statement_timeout; SQLite: the busy timeout); nothing is stored."""
    add_tenant()
    app = build_app(app_env, tmp_path, db_statement_timeout=1.0)
    url = app_env["DATABASE_URL"]
    holder = create_engine(url)
    with holder.connect() as conn:
        if make_url(url).get_backend_name() == "postgresql":
            conn.execute(text("BEGIN"))
            conn.execute(text("LOCK TABLE inbound_messages IN ACCESS EXCLUSIVE MODE"))
        else:
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
        status, body, elapsed = post_voice_note(app)
        conn.rollback()
    holder.dispose()
    assert (status, body) == (503, {"error": "database unavailable, retry later"})
    assert elapsed < BOUND_SECONDS
    with get_services(app).db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0
    status, body, _ = post_voice_note(app)  # Meta's retry, once the database answers again, is stored
    assert (status, body["new"], body["enqueued"]) == (200, 1, 1)
    get_services(app).close()


def test_every_postgresql_connection_carries_its_limits(database_url: str) -> None:
    """libpq's connect_timeout (whole seconds, at least 2) and statement_timeout, beside options the URL has; the
    pool's checkout timeout. On a PostgreSQL test database, the session shows the limit."""
    assert postgres_wait_args("postgresql+psycopg://u@h/x?options=-csearch_path%3Dapp", WaitLimits(3.5, 12.0)) == {
        "connect_timeout": 4, "options": "-csearch_path=app -c statement_timeout=12000"}
    assert postgres_wait_args("postgresql+psycopg://u@h/x", WaitLimits(connect=0.5)) == {
        "connect_timeout": 2, "options": "-c statement_timeout=15000"}
    engine = create_db_engine("postgresql+psycopg://u@h/x", WaitLimits(pool=2.5))
    assert engine.pool.timeout() == 2.5  # type: ignore[attr-defined]
    engine.dispose()
    if make_url(database_url).get_backend_name() != "postgresql":
        return
    engine = create_db_engine(database_url, WaitLimits(statement=12.0))
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "12s"
    engine.dispose()
