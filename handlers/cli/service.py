"""The long-running processes and their siblings: `flask worker`, `flask scheduler`, `flask purge`, `flask serve`."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import Worker
from rq.cron import CronScheduler
from werkzeug.serving import run_simple

from documents.warmup import warm_up
from services import Services, get_services
from store.db import upgrade_database
from workers.retention import purge_content, sweep

logger = logging.getLogger(__name__)


def configure_logging() -> None:
    """Plain process logs for the long-running commands (content never reaches a log line)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def build_cron(services: Services) -> CronScheduler:
    """RQ's cron scheduler with the periodic sweep (purge past retention, re-enqueue stuck messages)."""
    cron = CronScheduler(connection=services.redis, logging_level="INFO")
    cron.register(sweep, services.settings.queue_name, interval=services.settings.sweep_interval_seconds,
                  result_ttl=3600, failure_ttl=24 * 3600, name="sweep")
    return cron


def stop_on_sigterm(_signum: int, _frame: object) -> None:
    """SIGTERM ends `serve` like Ctrl-C does, through the cleanup that stops its child processes."""
    raise KeyboardInterrupt


@click.command("worker")
@click.option("--burst", is_flag=True, help="stop when the queue is empty")
@with_appcontext
def worker(burst: bool) -> None:
    """Run an RQ worker with RQ's scheduler (retries, delayed deletions)."""
    configure_logging()
    services = get_services()
    warm_up()  # each job runs in a fork of this process: fonts, templates and the XSD are loaded once
    Worker([services.queue], connection=services.redis, log_job_description=False).work(
        burst=burst, with_scheduler=True, logging_level="INFO")


@click.command("scheduler")
@with_appcontext
def scheduler() -> None:
    """Run the cron scheduler that enqueues the periodic sweep (one per deployment is enough)."""
    configure_logging()
    build_cron(get_services()).start()


@click.command("purge")
@with_appcontext
def purge() -> None:
    """Run the retention purge now."""
    click.echo(f"content of {purge_content(get_services())} invoices deleted")


@click.command("serve")
@click.option("--port", type=int, default=5000, show_default=True)
@with_appcontext
def serve(port: int) -> None:
    """Development: migrate, start one worker and the scheduler, and serve the web app."""
    configure_logging()
    services = get_services()
    upgrade_database(services.db.engine.url.render_as_string(hide_password=False), services.cipher)
    services.redis.ping()  # start the embedded Redis before the worker looks for it
    children = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", name], env=os.environ)
                for name in ("worker", "scheduler")]
    click.echo(f"listening on http://127.0.0.1:{port} (webhook: /webhook, health: /healthz)")
    signal.signal(signal.SIGTERM, stop_on_sigterm)  # so the children are stopped below, as on Ctrl-C
    try:
        run_simple("127.0.0.1", port, current_app._get_current_object(), threaded=True)  # type: ignore[attr-defined]
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=30)


COMMANDS = (worker, scheduler, purge, serve)
