"""Retention purge, deletion after download, and the periodic sweep that also re-enqueues stuck rows."""
from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from accounts.staff_sessions import drop_stale_staff_records
from conversation.notices import NOTICE_INTERVAL
from conversation.storno_pdf import forget_held_documents
from services import Services, get_services
from store.content import delete_invoice_content
from store.models import (
    AccountNotice,
    DeletionTrigger,
    DraftMessage,
    InboundMessage,
    InboundState,
    Invoice,
    InvoiceState,
    LoginLink,
    MagicLink,
    OtpChallenge,
    OtpSend,
    SenderNotice,
    utcnow,
)
from workers.archive import enqueue_pending_archives
from workers.pipeline import give_up, max_tries
from workers.queue import job_alive, release_job, requeue_processing

logger = logging.getLogger(__name__)

def purge_content(services: Services, now: dt.datetime | None = None) -> int:
    """Delete content past retention, and downloaded content past its grace period; returns the count."""
    now = now or utcnow()
    grace_cutoff = now - dt.timedelta(seconds=services.settings.download_grace_seconds)
    deleted = 0
    with services.db.session() as session:
        invoices = session.scalars(select(Invoice).where(
            Invoice.state != InvoiceState.DELETED, Invoice.deleted_at.is_(None),  # cancelled ones keep their state
            or_(Invoice.expires_at <= now, Invoice.downloaded_at <= grace_cutoff),
        ).with_for_update(skip_locked=True)).all()
        for invoice in invoices:
            trigger = DeletionTrigger.RETENTION if invoice.expires_at <= now else DeletionTrigger.DOWNLOAD
            if delete_invoice_content(session, services.cipher, invoice, trigger) is not None:
                deleted += 1
        # message rows are the duplicate check: keep them as long as Meta may redeliver (WEBHOOK_MAX_AGE_HOURS)
        redelivery_days = math.ceil(services.settings.webhook_max_age_hours / 24)
        drop_stale_metadata(session, now, max(services.settings.retention_days, redelivery_days))
        forget_held_documents(session, now)
    services.cipher.purge_expired_keys(now)  # also what a restored old backup still references
    services.db.checkpoint()
    logger.info("purge: content of %d invoices deleted", deleted)
    return deleted


def drop_stale_metadata(session: Session, now: dt.datetime, days: int) -> None:
    """Expired links and rate-limit rows, and message metadata older than the retention period."""
    session.execute(delete(MagicLink).where(MagicLink.expires_at <= now))
    session.execute(delete(LoginLink).where(LoginLink.expires_at <= now - dt.timedelta(days=1)))
    session.execute(delete(OtpSend).where(OtpSend.sent_at <= now - dt.timedelta(days=1)))
    session.execute(delete(OtpChallenge).where(OtpChallenge.expires_at <= now - dt.timedelta(days=1)))
    session.execute(delete(AccountNotice).where(AccountNotice.created_at <= now - dt.timedelta(days=1)))
    session.execute(delete(SenderNotice).where(SenderNotice.last_sent_at <= now - NOTICE_INTERVAL))
    drop_stale_staff_records(session, now)  # idle support sessions, login failures past the throttle's window
    session.execute(delete(InboundMessage).where(
        InboundMessage.state.in_([InboundState.DONE, InboundState.REJECTED, InboundState.FAILED]),
        InboundMessage.received_at <= now - dt.timedelta(days=days)))
    stale_drafts = select(Invoice.id).where(Invoice.number.is_(None), Invoice.state == InvoiceState.DELETED,
                                            Invoice.deleted_at <= now - dt.timedelta(days=days))
    session.execute(delete(DraftMessage).where(DraftMessage.invoice_id.in_(stale_drafts)))
    session.execute(delete(MagicLink).where(MagicLink.invoice_id.in_(stale_drafts)))
    session.execute(delete(Invoice).where(Invoice.id.in_(stale_drafts)))  # the receipts stay


def delete_downloaded(invoice_id: str) -> bool:
    """Job: delete one downloaded invoice's content once its grace period is over."""
    services = get_services()
    with services.db.session() as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or invoice.state is InvoiceState.DELETED:
            return False
        if delete_invoice_content(session, services.cipher, invoice, DeletionTrigger.DOWNLOAD) is None:
            return False  # kept: its archive copy is still to be handed off (the sweep deletes it afterwards)
    services.db.checkpoint()
    return True


@dataclass(frozen=True)
class Recovered:
    requeued: int  # enqueued again: their job was lost (never enqueued, Redis flushed, its worker died)
    given_up: int  # tries spent: ended with the one apology


def recover_stuck(services: Services, now: dt.datetime | None = None) -> Recovered:
    """Take up messages whose job was lost. A row counts once it has been left alone for STUCK_AFTER_SECONDS (a
    running job touches its row every third of that) and RQ holds no live job for it (none waiting, none started
    with a recent heartbeat): the job was never enqueued, Redis lost it (flushed or restarted), or its worker died
    (SIGKILL, out of memory; RQ itself would notice only after its ten-minute maintenance). Such a message is enqueued
    again at the head of its tenant's line, the tenant's slot passing from the dead job to it; with its tries spent
    (JOB_RETRIES + 1 claims) it ends FAILED with one apology instead (workers.pipeline.give_up)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=services.settings.stuck_after_seconds)
    with services.db.session() as session:
        rows = list(session.execute(select(InboundMessage.id, InboundMessage.tenant_id, InboundMessage.state,
                                           InboundMessage.attempts).where(
            InboundMessage.state.in_([InboundState.RECEIVED, InboundState.PROCESSING]),
            InboundMessage.updated_at <= cutoff, InboundMessage.tenant_id.is_not(None),
        ).order_by(InboundMessage.id)))
    requeued = given_up = 0
    for inbound_id, tenant_id, state, attempts in rows:
        if job_alive(services.queue, inbound_id, since=cutoff):
            continue
        if state is InboundState.PROCESSING and attempts >= max_tries(services):
            release_job(services.queue, inbound_id)  # frees the tenant's slot: its next message goes on
            try:
                given_up += give_up(services, inbound_id, "WorkerLost")
            except Exception as exc:  # the apology could not go out now: the next sweep tries again
                logger.warning("sweep: inbound %s not ended yet (%s)", inbound_id, type(exc).__name__)
            continue
        requeue_processing(services.queue, services.settings, inbound_id, tenant_id or 0)  # filtered: never 0
        requeued += 1
    if requeued or given_up:
        logger.warning("sweep: re-enqueued %d lost messages, gave up on %d", requeued, given_up)
    return Recovered(requeued, given_up)


def requeue_stuck(services: Services, now: dt.datetime | None = None) -> int:
    """Re-enqueue messages whose job was lost (recover_stuck); returns how many."""
    return recover_stuck(services, now).requeued


def sweep() -> dict[str, int]:
    """Periodic job (RQ's cron scheduler enqueues it): purge, take up messages whose job was lost, and archive copies
    whose job was lost."""
    services = get_services()
    recovered = recover_stuck(services)
    return {"purged": purge_content(services), "requeued": recovered.requeued, "given_up": recovered.given_up,
            "archive_copies": enqueue_pending_archives(services)}
