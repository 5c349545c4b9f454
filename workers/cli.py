"""Flask CLI: tenant add, worker, purge, db upgrade, serve."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import click
from flask import Flask
from rq import Worker
from werkzeug.serving import run_simple

from documents.warmup import warm_up
from services import get_services
from store import StoreError
from store.audit import CLI_ACTOR, record_audit
from store.crypto import ContentCipher
from store.profiles import ProfileInvalid, read_new_profile
from store.tenants import add_tenant
from workers.retention import purge_content, schedule_sweep

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "store" / "migrations"


def upgrade_database(url: str, cipher: ContentCipher | None = None) -> None:
    """Run Alembic migrations up to head against `url`; `cipher` seals personal data in existing rows."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["cipher"] = cipher
    command.upgrade(config, "head")


def configure_logging() -> None:
    """Plain process logs for the long-running commands (content never reaches a log line)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_commands(app: Flask) -> None:
    @app.cli.group("db")
    def db_group() -> None:
        """Database schema."""

    @db_group.command("upgrade")
    def db_upgrade() -> None:
        """Apply all migrations."""
        services = get_services()
        upgrade_database(services.db.engine.url.render_as_string(hide_password=False), services.cipher)
        click.echo("database is up to date")

    @app.cli.group("tenant")
    def tenant_group() -> None:
        """Manage tenants (tradespeople)."""

    @tenant_group.command("add")
    @click.option("--phone", required=True, help="WhatsApp number, E.164 (+49...)")
    @click.option("--company", required=True)
    @click.option("--street", required=True)
    @click.option("--postal-code", required=True)
    @click.option("--city", required=True)
    @click.option("--tax-number", default=None)
    @click.option("--vat-id", default=None)
    @click.option("--iban", required=True)
    @click.option("--bic", default=None)
    @click.option("--email", required=True)
    @click.option("--business-phone", default=None, help="printed on invoices; XRechnung needs it")
    @click.option("--hourly-rate", type=Decimal, default=None)
    @click.option("--vat-rate", type=Decimal, default=Decimal(19), show_default=True)
    @click.option("--payment-terms", "payment_terms_days", type=int, default=14, show_default=True)
    @click.option("--language", type=click.Choice(["de", "en"]), default="de", show_default=True)
    @click.option("--small-business/--no-small-business", default=False, help="§19 UStG Kleinunternehmer")
    @click.option("--verified", is_flag=True, help="mark the number as verified (skip the OTP)")
    def tenant_add(phone: str, **profile: object) -> None:
        """Register a tradesperson's business."""
        try:
            clean = read_new_profile(profile)
        except ProfileInvalid as exc:  # nothing was created
            options = {param.name: param.opts[0] for param in click.get_current_context().command.params}
            hint = " / ".join(f"'{options.get(name, name)}'" for name in exc.errors)
            raise click.BadParameter(str(exc), param_hint=hint) from exc
        services = get_services()
        try:
            with services.db.session() as session:
                tenant = add_tenant(session, services.cipher, phone, **clean, verified=bool(profile.get("verified")))
                tenant_id = tenant.id
                record_audit(session, CLI_ACTOR, "tenant_created", tenant_id, verified=bool(profile.get("verified")))
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"tenant {tenant_id} created" + (" (verified)" if profile.get("verified") else ""))

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="stop when the queue is empty")
    def worker(burst: bool) -> None:
        """Run an RQ worker with the scheduler (retries, delayed deletions, the periodic sweep)."""
        configure_logging()
        services = get_services()
        schedule_sweep(services.queue, services.settings.sweep_interval_seconds)
        warm_up()  # each job runs in a fork of this process: fonts, templates and the XSD are loaded once
        Worker([services.queue], connection=services.redis, log_job_description=False).work(
            burst=burst, with_scheduler=True, logging_level="INFO")

    @app.cli.command("purge")
    def purge() -> None:
        """Run the retention purge now."""
        click.echo(f"content of {purge_content(get_services())} invoices deleted")

    @app.cli.command("serve")
    @click.option("--port", type=int, default=5000, show_default=True)
    def serve(port: int) -> None:
        """Development: migrate, start one worker and serve the web app."""
        configure_logging()
        services = get_services()
        upgrade_database(services.db.engine.url.render_as_string(hide_password=False), services.cipher)
        services.redis.ping()  # start the embedded Redis before the worker looks for it
        worker_proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], env=os.environ)
        click.echo(f"listening on http://127.0.0.1:{port} (webhook: /webhook, health: /healthz)")
        try:
            run_simple("127.0.0.1", port, app, threaded=True)
        finally:
            worker_proc.send_signal(signal.SIGTERM)
            worker_proc.wait(timeout=30)
