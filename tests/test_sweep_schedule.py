"""The periodic sweep comes from RQ's cron scheduler, not from a job that reschedules itself."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select, update

from handlers.cli.service import build_cron
from services import get_services
from store.models import DeletionReceipt, DeletionTrigger, Invoice, InvoiceState, utcnow
from tests.helpers import IssueByVoice, load_cases

INVOICE_CASE = next(c for c in load_cases() if c["expected"])


def test_cron_enqueues_the_sweep_once_per_interval_and_the_sweep_purges_expired_content(
        app: Flask, tenant: int, issue_by_voice: IssueByVoice, run_worker: Callable[[], None]) -> None:
    issue_by_voice(INVOICE_CASE)
    services = get_services(app)
    with services.db.session() as session:
        session.execute(update(Invoice).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    cron = build_cron(services)
    assert [job.name for job in cron.enqueue_jobs()] == ["sweep"]
    assert [job.func_name for job in services.queue.get_jobs()] == ["workers.retention.sweep"]
    assert cron.enqueue_jobs() == []  # not again before SWEEP_INTERVAL_SECONDS have passed
    run_worker()
    with services.db.session() as session:
        assert session.scalars(select(Invoice.state)).one() is InvoiceState.DELETED
        receipt = session.scalars(select(DeletionReceipt)).one()
        assert receipt.trigger is DeletionTrigger.RETENTION
    assert services.queue.scheduled_job_registry.count == 0  # the sweep scheduled nothing after itself
