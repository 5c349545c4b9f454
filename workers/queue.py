"""Queue wiring: what is enqueued (ids only), with retries, short TTLs and a failure callback."""
from __future__ import annotations

import logging
from datetime import timedelta

from rq import Callback, Queue, Retry

from settings import Settings

logger = logging.getLogger(__name__)

JOB_TIMEOUT = 300
FAILURE_TTL = 3600  # failed jobs (ids and error types only) are kept one hour for debugging
RESULT_TTL = 600


def enqueue_processing(queue: Queue, settings: Settings, inbound_id: int) -> None:
    """Enqueue the pipeline for one inbound message id; the job id makes re-enqueues idempotent."""
    from workers.pipeline import process_inbound, report_failure

    queue.enqueue(
        process_inbound, inbound_id, job_id=f"inbound-{inbound_id}", job_timeout=JOB_TIMEOUT,
        retry=Retry(max=settings.job_retries, interval=settings.job_retry_intervals),
        on_failure=Callback(report_failure), failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL,
        description=f"process inbound {inbound_id}",
    )


def enqueue_content_deletion(queue: Queue, invoice_id: str, delay_seconds: int) -> None:
    from workers.retention import delete_downloaded

    queue.enqueue_in(timedelta(seconds=delay_seconds), delete_downloaded, invoice_id,
                     job_id=f"delete-{invoice_id}", failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL,
                     retry=Retry(max=3, interval=[30, 120, 600]), description="delete downloaded content")


def enqueue_welcome(queue: Queue, tenant_id: int) -> None:
    from workers.onboarding import send_welcome

    queue.enqueue(send_welcome, tenant_id, retry=Retry(max=3, interval=[10, 60, 300]), failure_ttl=FAILURE_TTL,
                  result_ttl=RESULT_TTL, description=f"welcome tenant {tenant_id}")


def enqueue_sender_notice(queue: Queue, pseudonym: str) -> None:
    from workers.notices import send_sender_notice

    queue.enqueue(send_sender_notice, pseudonym, retry=Retry(max=3, interval=[10, 60, 300]),
                  failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL, description="sender notice")
