"""Jobs of the archive hand-off: the copy of one issued invoice to its tenant's archive addresses (retried like
every outside call), and the chat notice once its tries are spent. Ids only."""
from __future__ import annotations

import logging
from typing import Any

import redis
from rq.job import Job

from conversation import archive
from services import Services, get_services
from store.archive import list_pending_archive_ids
from workers.queue import enqueue_archive_copies, enqueue_archive_notice

logger = logging.getLogger(__name__)

UNREACHABLE, UNCONFIGURED = "unreachable", archive.CopyResult.UNCONFIGURED.value  # why a notice is sent


def send_archive_copy(invoice_id: str) -> str:
    """Job: mail the archive copy; raises MailError while the server does not take it (RQ tries again)."""
    services = get_services()
    result = archive.send_archive_copy(services, invoice_id)
    if result is archive.CopyResult.UNCONFIGURED:
        enqueue_archive_notice(services.queue, services.settings, invoice_id, UNCONFIGURED)
    return result.value


def report_archive_failure(job: Job, connection: Any, exc_type: type[BaseException], exc: BaseException,
                           traceback: Any) -> None:
    """RQ failure callback: with no try left, the copy is FAILED (content kept until retention) and the tradesperson
    is told."""
    if job.retries_left:
        return
    services = get_services()
    invoice_id = str(job.args[0])
    if archive.give_up_archive(services, invoice_id, unconfigured=False):
        enqueue_archive_notice(services.queue, services.settings, invoice_id, UNREACHABLE)


def tell_archive_failed(invoice_id: str, reason: str) -> bool:
    """Job: the chat notice that an invoice's archive copy failed."""
    return archive.tell_archive_failed(get_services(), invoice_id, unconfigured=reason == UNCONFIGURED)


def enqueue_pending_archives(services: Services, tenant_id: int | None = None) -> int:
    """Enqueue the archive copies still to go (of one tenant, after a turn that issued; of all, from the sweep). A
    Redis failure leaves them PENDING for the next sweep."""
    with services.db.session() as session:
        pending = list_pending_archive_ids(session, tenant_id)
    try:
        return enqueue_archive_copies(services.queue, services.settings, pending)
    except redis.RedisError as exc:
        logger.warning("archive copies not enqueued (%s); left for the sweep", type(exc).__name__)
        return 0
