"""The first minutes with a fresh clone: `flask serve` shows the product and stops clean, failures read as one line,
settings are checked at startup, and `.env` does one documented thing."""
from __future__ import annotations

import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import FlaskGroup
from flask.testing import FlaskClient

from accounts.demo import DEMO_PHONE, ensure_demo_tenant
from app import ConfigError, create_app
from services import get_services
from settings import Settings
from store.models import Tenant
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import CONTENT_KEY, ROOT, enrol_staff, staff_log_in, submit, tenant_count, text_of

START_TIMEOUT = 120.0  # a loaded 2-core machine needs ~30 s to import the app in four processes at once
STOP_TIMEOUT = 20.0  # flask serve gives its children 10 s after SIGTERM, then kills their groups
LONG_SECRET = "s" * 32
# variables read outside Settings, and Flask's own
OTHER_VARIABLES = ("INSTANCE_PATH", "PORT", "FLASK_SKIP_DOTENV", "FLASK_RUN_FROM_CLI", "FLASK_APP", "FLASK_DEBUG")


def setting_variables() -> list[str]:
    return [name.upper() for name in Settings.model_fields]


def free_port() -> int:
    """A free port below the ephemeral range, so no loopback fake of a parallel test takes it meanwhile."""
    for port in random.sample(range(20000, 30000), 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port")


def read_until(stream: Any, marker: str, timeout: float) -> str:
    """What `stream` (a pipe) says up to and including the line containing `marker`, within `timeout`."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    text, deadline = "", time.monotonic() + timeout
    while marker not in text:
        remaining = deadline - time.monotonic()
        assert remaining > 0 and selector.select(remaining), f"no {marker!r} within {timeout} s:\n{text}"
        chunk = os.read(stream.fileno(), 65536).decode()
        assert chunk, f"the output ended before {marker!r}:\n{text}"
        text += chunk
    return text


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def in_session(sid: int) -> list[psutil.Process]:
    """The live processes of a session (the children keep it; their own process groups do not change it)."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == sid and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
            continue
    return found


# --- scripts/serve ------------------------------------------------------------------------------

def test_serve_shows_the_product_registers_the_demo_once_and_sigterm_leaves_nothing(tmp_path: Path) -> None:
    port, instance = free_port(), tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if k not in setting_variables() and k not in OTHER_VARIABLES}
    env.update(INSTANCE_PATH=str(instance), FLASK_SKIP_DOTENV="1")  # no REDIS_URL, no DATABASE_URL, no keys
    serve = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "serve", "--port", str(port)], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=(tmp_path / "serve.log").open("wb"),
                             start_new_session=True)
    started: list[psutil.Process] = []
    try:
        out = read_until(serve.stdout, "Ctrl-C stops", START_TIMEOUT)
        base = f"http://localhost:{port}"
        for url in (f"{base}/emulator", f"{base}/support", f"{base}/datenschutz"):
            assert re.search(rf"{re.escape(url)}\s", out), out
        assert re.search(r"create the first support user: \S*flask --app app support-user add --email ", out), out
        assert "Demo Elektro GmbH, +4915100000000 (verified, tenant 1, registered now)" in out

        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        landing = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert landing.status_code == 200
        for link in ('href="/support"', 'href="/datenschutz"'):
            assert link in landing.text
        emulator = requests.get(f"http://127.0.0.1:{port}/emulator", timeout=10).status_code == 200
        assert ('href="/emulator"' in landing.text) == emulator

        with sqlite3.connect(instance / "app.db") as db:
            assert db.execute("SELECT company, verified FROM tenants").fetchall() == [("Demo Elektro GmbH", 1)]

        started = psutil.Process(serve.pid).children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in started]
        assert sum("redis-server" in c for c in commands) == 1, commands  # one embedded Redis for all
        roles = [p for p in started if "redis-server" not in " ".join(p.cmdline())]
        for role in (" run ", " worker", " scheduler"):
            assert any(f"flask --app app{role}" in " ".join(p.cmdline()) for p in roles), commands
        redis_urls = set()
        for process in roles:  # one Redis, the emulator on, links to this port: the same for all three
            environ = process.environ()
            assert (environ["EMULATOR"], environ["PUBLIC_BASE_URL"]) == ("1", base)
            redis_urls.add(environ["REDIS_URL"])
        assert len(redis_urls) == 1 and redis_urls.pop().startswith("unix://")

        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=STOP_TIMEOUT)
        assert [p.pid for p in started if alive(p.pid)] == []
        assert in_session(serve.pid) == []
    finally:  # after a failure: nothing may outlive the test either
        if serve.poll() is None:
            serve.kill()
        for process in started:
            if alive(process.pid):
                process.kill()
        serve.wait(timeout=STOP_TIMEOUT)


def test_the_demo_business_is_registered_once(app: Flask, add_tenant: Any) -> None:
    services = get_services(app)
    with services.db.session() as session:
        first, created = ensure_demo_tenant(session, services.cipher, "cli")
    with services.db.session() as session:
        again, created_again = ensure_demo_tenant(session, services.cipher, "cli")
        assert session.get_one(Tenant, first).verified
    assert created and not created_again and first == again and tenant_count(app) == 1


def test_no_demo_business_over_a_tenant_with_its_number(app: Flask, add_tenant: Any) -> None:
    own = add_tenant(phone=DEMO_PHONE, company="Schon da GmbH")
    services = get_services(app)
    with services.db.session() as session:
        assert ensure_demo_tenant(session, services.cipher, "cli") == (own, False)
    assert tenant_count(app) == 1


def test_links_point_at_the_port_unless_public_base_url_says_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setenv("PORT", "5123")
    assert Settings().public_url("/d/x") == "http://localhost:5123/d/x"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://rechnung.example")
    assert Settings().public_url("/d/x") == "https://rechnung.example/d/x"


# --- the landing page ---------------------------------------------------------------------------

def test_landing_page_links_support_and_privacy_and_the_emulator_only_when_served(
        client: FlaskClient, app_env: dict[str, str], tmp_path: Path) -> None:
    page = text_of(client.get("/"))
    assert 'href="/support"' in page and 'href="/datenschutz"' in page and "Rechnung" in page
    assert "/emulator" not in page and client.get("/emulator").status_code == 404
    served = make_app(app_env, tmp_path)
    served.add_url_rule("/emulator", "emulator_stand_in", lambda: "Emulator")  # as EMULATOR=1 serves it
    assert 'href="/emulator"' in text_of(served.test_client().get("/"))


# --- WhatsApp credentials: one line in the CLI, a message in the console -----------------------

def make_app(env: dict[str, str], tmp_path: Path, **overrides: Any) -> Flask:
    """Another app on the test's database and fakes, with some settings changed."""
    config: dict[str, Any] = {k.lower(): v for k, v in env.items()}
    config["job_retry_intervals"] = json.loads(config["job_retry_intervals"])
    return create_app({**config, **overrides, "instance_path": str(tmp_path / "instance")})


@pytest.mark.parametrize(("token", "expected"), [
    ("", "Error: WhatsApp is not configured: set WHATSAPP_TOKEN"),
    ("wrong-token", "Error: WhatsApp refused the access token: check WHATSAPP_TOKEN (Graph API error 401 (code 190)"),
])
def test_send_code_without_or_with_a_wrong_token_fails_in_one_line(
        app_env: dict[str, str], tmp_path: Path, unverified: int, whatsapp_fake: FakeWhatsApp, token: str,
        expected: str) -> None:
    app = make_app(app_env, tmp_path, whatsapp_token=token)
    result = app.test_cli_runner().invoke(args=["tenant", "send-code", str(unverified)])
    assert result.exit_code == 1 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith(expected), result.output
    assert whatsapp_fake.sent == []


@pytest.mark.parametrize(("token", "expected"), [
    ("", "WhatsApp ist nicht eingerichtet: WHATSAPP_TOKEN fehlt in den Einstellungen. Es wurde kein Code gesendet."),
    ("wrong-token", "WhatsApp hat den Zugangsschlüssel abgelehnt (WHATSAPP_TOKEN prüfen)."),
])
def test_console_send_code_without_or_with_a_wrong_token_says_so(
        app_env: dict[str, str], tmp_path: Path, unverified: int, whatsapp_fake: FakeWhatsApp, token: str,
        expected: str) -> None:
    app = make_app(app_env, tmp_path, whatsapp_token=token)
    console = app.test_client()
    assert staff_log_in(console, enrol_staff(app)).status_code == 302
    page = f"/support/tenants/{unverified}"
    response = submit(console, f"{page}/send-code", page)
    assert response.status_code == 200 and expected in text_of(response)
    assert "gültig bis" not in text_of(response) and whatsapp_fake.sent == []


# --- an unmigrated database ---------------------------------------------------------------------

def test_cli_on_an_unmigrated_database_says_to_run_db_upgrade(app_env: dict[str, str], tmp_path: Path) -> None:
    app = make_app(app_env, tmp_path, database_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    runner = app.test_cli_runner()
    for args in (["tenant", "list"], ["audit", "list"], ["support-user", "add", "--email", "a@b.de", "--name", "A",
                                                         "--password", "x" * 12]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and result.output == (
            "Error: the database is not migrated to this version: run `flask --app app db upgrade` first\n"), args
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["tenant", "list"]).exit_code == 0


# --- settings checked at startup ----------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "expected"), [
    ({"app_env": "prod"}, "APP_ENV: Input should be 'development', 'production' or 'test'"),
    ({"app_env": "production", "secret_key": "test-secret"}, "SECRET_KEY must be at least 32 bytes"),
    ({"app_env": "production", "secret_key": LONG_SECRET, "content_key": "change-me"},
     "CONTENT_KEY: must be 64 hex characters"),
    ({"content_key": "change-me"}, "CONTENT_KEY: must be 64 hex characters"),
    ({"app_env": "production", "secret_key": "", "content_key": ""},
     "SECRET_KEY and CONTENT_KEY are required when APP_ENV=production"),
    ({"retention_days": 90}, "RETENTION_DAYS: Input should be less than or equal to 30"),
])
def test_weak_or_misspelt_settings_are_refused_in_one_line(app_env: dict[str, str], tmp_path: Path,
                                                            overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        make_app(app_env, tmp_path, **overrides)
    assert expected in str(refused.value) and "\n" not in str(refused.value)


def test_production_starts_with_strong_settings(app_env: dict[str, str], tmp_path: Path,
                                                postgres_key_store_url: str) -> None:
    app = make_app(app_env, tmp_path, app_env="production", secret_key=LONG_SECRET, content_key=CONTENT_KEY,
                   key_store_url=postgres_key_store_url)
    assert get_services(app).settings.is_production and app.config["SECRET_KEY"] == LONG_SECRET


# --- .env: read by the flask command in development, never over the environment ---------------

@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory and an environment without any setting, restored afterwards (the flask command's
    .env loading writes into os.environ)."""
    saved = dict(os.environ)
    for name in (*setting_variables(), *OTHER_VARIABLES):
        os.environ.pop(name, None)
    os.environ["INSTANCE_PATH"] = str(tmp_path / "instance")
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    os.environ.clear()
    os.environ.update(saved)


def flask(*args: str) -> Result:
    """The `flask` command in this process: Flask's CLI with its .env loading, on a new app."""
    return CliRunner().invoke(FlaskGroup(create_app=lambda: create_app()), list(args))


def test_a_copied_env_example_starts_and_lists_every_setting(shell: Path) -> None:
    shutil.copy(ROOT / ".env.example", shell / ".env")
    assert flask("db", "upgrade").exit_code == 0
    result = flask("tenant", "list")
    assert result.exit_code == 0, result.output
    listed = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert set(setting_variables()) <= listed, set(setting_variables()) - listed


def test_env_file_is_read_by_the_flask_command_and_the_environment_wins(shell: Path) -> None:
    (shell / ".env").write_text(f"DATABASE_URL=sqlite:///{shell / 'from-dotenv.db'}\n")
    assert flask("db", "upgrade").exit_code == 0
    assert (shell / "from-dotenv.db").exists()

    (shell / "from-dotenv.db").unlink()
    os.environ["DATABASE_URL"] = f"sqlite:///{shell / 'from-environment.db'}"
    assert flask("db", "upgrade").exit_code == 0
    assert (shell / "from-environment.db").exists() and not (shell / "from-dotenv.db").exists()


def test_flask_skip_dotenv_turns_the_reading_off(shell: Path) -> None:
    (shell / ".env").write_text(f"DATABASE_URL=sqlite:///{shell / 'from-dotenv.db'}\n")
    os.environ["FLASK_SKIP_DOTENV"] = "1"
    assert flask("db", "upgrade").exit_code == 0
    assert not (shell / "from-dotenv.db").exists() and (shell / "instance" / "app.db").exists()


def test_production_refuses_a_dotenv_file_in_one_line(shell: Path) -> None:
    (shell / ".env").write_text("SUPPORT_CONTACT=hilfe@example.de\n")
    os.environ.update(APP_ENV="production", SECRET_KEY=LONG_SECRET, CONTENT_KEY=CONTENT_KEY,
                      DATABASE_URL=f"sqlite:///{shell / 'app.db'}", REDIS_URL="redis://127.0.0.1:6379/15",
                      KEY_STORE_URL="postgresql://postgres@127.0.0.1:5432/never_connected_keys")
    result = flask("tenant", "list")
    assert result.exit_code == 1 and result.output == (
        f"Error: APP_ENV=production takes its settings from the environment only, but the flask command loaded "
        f"{shell / '.env'}: remove it, or set FLASK_SKIP_DOTENV=1\n")
    os.environ["FLASK_SKIP_DOTENV"] = "1"
    assert flask("db", "upgrade").exit_code == 0


def test_a_misspelt_app_env_is_one_line_on_the_command_line(shell: Path) -> None:
    os.environ["APP_ENV"] = "prodution"
    result = flask("tenant", "list")
    assert result.exit_code == 1 and result.output == (
        "Error: invalid settings: APP_ENV: Input should be 'development', 'production' or 'test'\n")
