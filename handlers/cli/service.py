"""The long-running processes and their siblings: `flask worker`, `flask scheduler`, `flask purge`, `flask requeue`
(`flask serve`, which runs them all in development, is handlers.cli.serve)."""
from __future__ import annotations

import logging

import click
from flask.cli import with_appcontext
from rq import SimpleWorker, Worker
from rq.cron import CronScheduler
from rq.worker import BaseWorker

from documents.warmup import warm_up
from extraction.local_whisper import LocalModelUnavailable, LocalWhisperTranscriber
from services import Services, get_services
from workers.retention import purge_content, recover_stuck, sweep

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


@click.command("worker")
@click.option("--burst", is_flag=True, help="stop when the queue is empty")
@with_appcontext
def worker(burst: bool) -> None:
    """Run an RQ worker with RQ's scheduler (retries, delayed deletions)."""
    configure_logging()
    services = get_services()
    warm_up()  # fonts, templates and the XSD are loaded once, before any job (in a fork of this process or in it)
    worker_class: type[BaseWorker] = Worker
    if isinstance(services.transcriber, LocalWhisperTranscriber):
        try:
            services.transcriber.load()
            worker_class = SimpleWorker  # CTranslate2's threads do not survive fork(): jobs run in this process
        except LocalModelUnavailable as exc:
            logger.error("TRANSCRIBE_BACKEND=local, but voice notes will fail: %s", exc.reason)
    worker_class([services.queue], connection=services.redis, log_job_description=False).work(
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


@click.command("requeue")
@with_appcontext
def requeue() -> None:
    """Take up stuck messages now, as the sweep does: enqueue again those whose job was lost (a dead worker, a
    flushed Redis), end those whose tries are spent with the one apology."""
    recovered = recover_stuck(get_services())
    click.echo(f"{recovered.requeued} messages enqueued again, {recovered.given_up} given up with an apology")


COMMANDS = (worker, scheduler, purge, requeue)
