"""`flask serve`: development on one machine: the web app, one worker and the cron scheduler on one embedded Redis,
with the demo business registered; it says where to go and stops everything it started."""
from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from accounts.demo import DEMO_PHONE, DEMO_PROFILE, ensure_demo_tenant
from accounts.staff_admin import has_staff
from handlers.cli.processes import Child, Children, die_with_parent
from handlers.cli.service import configure_logging
from services import Services, get_services
from services.embedded_redis import EmbeddedRedis
from store.audit import CLI_ACTOR
from store.db import upgrade_database

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0  # seconds a child has after SIGTERM before its process group is killed
WEB_START_TIMEOUT = 60.0
TRUE_VALUES = {"1", "true", "yes", "on", "t", "y"}


def stop_on_sigterm(_signum: int, _frame: object) -> None:
    """SIGTERM ends `serve` like Ctrl-C does, through the cleanup that stops its child processes."""
    raise KeyboardInterrupt


def register_demo(services: Services) -> tuple[int, bool]:
    with services.db.session() as session:
        return ensure_demo_tenant(session, services.cipher, CLI_ACTOR)


def flask_command() -> str:
    """How to call `flask` from here: the venv's script, relative to the working directory when it is below it."""
    script = Path(sys.executable).parent / "flask"
    if not script.exists():
        return "flask"
    relative = os.path.relpath(script)
    return relative if not relative.startswith("..") else str(script)


def check_port_free(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise click.ClickException(f"port {port} is in use: stop what listens there or pass --port") from exc


def wait_until_healthy(port: int, web: Child, timeout: float = WEB_START_TIMEOUT) -> None:
    """Until the web app answers /healthz (its own answer, not just anything that took the port meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            if response.status == 200 and json.loads(response.read()).get("status") == "ok":
                return
        except (OSError, ValueError, http.client.HTTPException):
            pass
        finally:
            connection.close()
        if not web.running:
            raise click.ClickException(f"the web app exited with code {web.process.returncode}")
        if time.monotonic() > deadline:
            raise click.ClickException(f"the web app did not answer on port {port} within {timeout:.0f} s")
        time.sleep(0.1)


def banner(base: str, public_base: str, emulator: bool, demo: tuple[int, bool] | None, staff: bool) -> list[str]:
    """Where to go, with full URLs (stdout)."""
    lines = [f"Sprachrechnung is running on {base}"]
    if emulator:
        lines.append(f"  WhatsApp emulator: {base}/emulator")
    if demo is not None:
        lines.append(f"  demo business:     {DEMO_PROFILE['company']}, {DEMO_PHONE} (verified, tenant {demo[0]}"
                     + (", registered now)" if demo[1] else ")"))
    lines.append(f"  support console:   {base}/support")
    user = (f'{flask_command()} --app app support-user add --email you@example.com --name "Your Name" '
            "--qr-file totp.svg")
    lines.append(f"    {'add a support user' if staff else 'create the first support user'}: {user}")
    lines.append(f"  privacy notice:    {base}/datenschutz")
    if public_base.rstrip("/") != base:
        lines.append(f"  links the bot sends start with {public_base} (PUBLIC_BASE_URL)")
    lines.append("Ctrl-C stops the web app, the worker, the scheduler and the embedded Redis.")
    return lines


@click.command("serve")
@click.option("--port", type=int, default=5000, show_default=True, envvar="PORT", help="also: PORT")
@with_appcontext
def serve(port: int) -> None:
    """Development: migrate, register the demo business, and run the web app, one worker and the cron scheduler
    on one embedded Redis (unless REDIS_URL is set); Ctrl-C or SIGTERM stops every one of them."""
    configure_logging()
    services = get_services()
    settings = services.settings
    check_port_free(port)
    upgrade_database(services.db.engine.url.render_as_string(hide_password=False), services.cipher)
    demo = None if settings.is_production else register_demo(services)
    with services.db.session() as session:
        staff = has_staff(session)
    base = f"http://localhost:{port}"
    env = dict(os.environ)
    if not env.get("PUBLIC_BASE_URL"):
        env["PUBLIC_BASE_URL"] = base  # links the bot sends point at the port it serves on
    if not settings.is_production and not env.get("EMULATOR"):
        env["EMULATOR"] = "1"
    emulator = env.get("EMULATOR", "").strip().lower() in TRUE_VALUES
    children = Children()
    redis_server: EmbeddedRedis | None = None
    signal.signal(signal.SIGTERM, stop_on_sigterm)  # so the children are stopped below, as on Ctrl-C
    try:
        if not settings.redis_url:  # one embedded Redis for all three, on a unix socket
            redis_server = EmbeddedRedis(services.instance_path, preexec=die_with_parent)
            env["REDIS_URL"] = redis_server.start()
        flask = [sys.executable, "-m", "flask", "--app", "app"]
        web = children.start("web", [*flask, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload",
                                     "--no-debugger", "--with-threads"], env)
        children.start("worker", [*flask, "worker"], env)
        children.start("scheduler", [*flask, "scheduler"], env)
        wait_until_healthy(port, web)
        click.echo("\n".join(banner(base, env["PUBLIC_BASE_URL"], emulator, demo, staff)))
        sys.stdout.flush()
        while (exited := children.first_exited()) is None:
            time.sleep(0.2)
        raise click.ClickException(f"the {exited.name} exited with code {exited.process.returncode}: stopping")
    except KeyboardInterrupt:
        logger.info("stopping")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the cleanup short
            signal.signal(signum, signal.SIG_IGN)
        children.stop(STOP_TIMEOUT)
        if redis_server is not None:
            redis_server.stop(STOP_TIMEOUT)
