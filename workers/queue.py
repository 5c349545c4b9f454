"""Queue wiring: what is enqueued (ids only), by dotted job name, with retries, short TTLs and a failure callback."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from datetime import timedelta

import redis
from rq import Callback, Queue, RateLimit, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.rate_limit import RateLimitRegistry

from conversation.intake import Accepted
from settings import Settings

logger = logging.getLogger(__name__)

JOB_TIMEOUT = 300
FAILURE_TTL = 3600  # failed jobs (ids and error types only) are kept one hour for debugging
RESULT_TTL = 600


def build_retry(settings: Settings) -> Retry:
    """The one retry policy of every job: JOB_RETRIES tries after JOB_RETRY_INTERVALS seconds."""
    return Retry(max=settings.job_retries, interval=settings.job_retry_intervals)


def tenant_turns(queue: Queue, tenant_id: int) -> RateLimit:
    """One job at a time per tenant, oldest first: a correction never races the draft it corrects. The key names
    the queue too (RQ's rate limits are global to the Redis database)."""
    return RateLimit(key=f"{queue.name}:tenant-{tenant_id}", concurrency=1)


def processing_job_id(inbound_id: int) -> str:
    return f"inbound-{inbound_id}"


def enqueue_processing(queue: Queue, settings: Settings, inbound_id: int, tenant_id: int) -> Job:
    """Enqueue the pipeline for one inbound message id, in its tenant's line; the job id makes re-enqueues
    idempotent."""
    return queue.enqueue(
        "workers.pipeline.process_inbound", inbound_id, job_id=processing_job_id(inbound_id), job_timeout=JOB_TIMEOUT,
        retry=build_retry(settings), rate_limit=tenant_turns(queue, tenant_id),
        on_failure=Callback("workers.pipeline.report_failure"), failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL,
        description=f"process inbound {inbound_id}",
    )


def enqueue_new_messages(queue: Queue, settings: Settings, new_ids: list[tuple[int, int]]) -> None:
    """The webhook's enqueue: the same job as enqueue_processing for every (inbound id, tenant id), each in its
    tenant's line, all in ONE Redis transaction with RQ's own rate-limited enqueue given the pipeline (jobs, lines
    and the promotion of each line's first job happen atomically, as RQ documents for a pipeline). Queue.enqueue
    costs three round trips a job and Queue.enqueue_many takes no rate limit."""
    with queue.connection.pipeline() as pipe:
        pipe.sadd(queue.redis_queues_keys, queue.key)
        for inbound_id, tenant_id in new_ids:
            job = queue.create_job(
                "workers.pipeline.process_inbound", args=(inbound_id,), job_id=processing_job_id(inbound_id),
                timeout=JOB_TIMEOUT, retry=build_retry(settings), rate_limit=tenant_turns(queue, tenant_id),
                on_failure=Callback("workers.pipeline.report_failure"), failure_ttl=FAILURE_TTL,
                result_ttl=RESULT_TTL, description=f"process inbound {inbound_id}")
            queue._enqueue_rate_limited_job(job, pipeline=pipe)
        pipe.execute()


WAITING = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.RATE_LIMITED})


def job_alive(queue: Queue, inbound_id: int, since: dt.datetime) -> bool:
    """Whether RQ still holds the message's job as waiting (queued, scheduled for a retry, in its tenant's line), or
    as started with a heartbeat after `since` (a worker took it a moment ago). A job that is gone (Redis flushed or
    restarted), failed, or started by a worker that stopped beating is not."""
    try:
        job = Job.fetch(processing_job_id(inbound_id), connection=queue.connection)
        status = job.get_status(refresh=False)
    except (NoSuchJobError, ValueError):  # gone, or a hash left half-written
        return False
    if status in WAITING:
        return True
    return status == JobStatus.STARTED and job.last_heartbeat is not None and job.last_heartbeat > since


def release_job(queue: Queue, inbound_id: int, keep_slot: bool = False) -> None:
    """Forget a lost job of the message: its executions (RQ would count a dead one as running until its TTL), the
    StartedJobRegistry entry and the job itself. Its tenant's RateLimit slot is freed (the next message of the
    tenant moves up) unless `keep_slot`: then it stays taken until the caller re-enqueues the message."""
    try:
        job = Job.fetch(processing_job_id(inbound_id), connection=queue.connection)
    except (NoSuchJobError, ValueError):
        return
    with queue.connection.pipeline() as pipeline:
        job.execution_registry.delete(job=job, pipeline=pipeline)
        pipeline.execute()
    if keep_slot:
        with queue.connection.pipeline() as pipeline:
            job.delete(pipeline=pipeline)
            pipeline.execute()
    else:
        job.delete()


def requeue_processing(queue: Queue, settings: Settings, inbound_id: int, tenant_id: int) -> None:
    """Enqueue a message whose job was lost again, at the head of its tenant's line (oldest message first), so that a
    later message of the tenant (a correction) never overtakes it. The slot the lost job held passes to it."""
    release_job(queue, inbound_id, keep_slot=True)
    job = enqueue_processing(queue, settings, inbound_id, tenant_id)
    limit = RateLimitRegistry(tenant_turns(queue, tenant_id).key, connection=queue.connection)
    if job.get_status(refresh=True) == JobStatus.RATE_LIMITED:
        # the line is a sorted set scored by enqueue time; a message id is far below any timestamp
        queue.connection.zadd(limit.rate_limited_key, {job.id: inbound_id}, xx=True)
    limit.cleanup()  # frees slots whose holder no longer runs (the lost job) and lets the head of the line in


def enqueue_content_deletion(queue: Queue, settings: Settings, invoice_id: str, delay_seconds: int) -> None:
    queue.enqueue_in(timedelta(seconds=delay_seconds), "workers.retention.delete_downloaded", invoice_id,
                     job_id=f"delete-{invoice_id}", failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL,
                     retry=build_retry(settings), description="delete downloaded content")


ARCHIVE_TIMEOUT = 120  # one SMTP hand-off of a few hundred kB


def archive_job_id(invoice_id: str) -> str:
    return f"archive-{invoice_id}"


def enqueue_archive_copies(queue: Queue, settings: Settings, invoice_ids: Iterable[str]) -> int:
    """The archive copy of each issued invoice, unless its job is already there (waiting, retrying, done or failed):
    issuing, a retried turn and the sweep may all ask. Returns how many were enqueued."""
    enqueued = 0
    for invoice_id in invoice_ids:
        if Job.exists(archive_job_id(invoice_id), connection=queue.connection):
            continue
        queue.enqueue("workers.archive.send_archive_copy", invoice_id, job_id=archive_job_id(invoice_id),
                      job_timeout=ARCHIVE_TIMEOUT, retry=build_retry(settings),
                      on_failure=Callback("workers.archive.report_archive_failure"), failure_ttl=FAILURE_TTL,
                      result_ttl=RESULT_TTL, description="archive copy")
        enqueued += 1
    return enqueued


def enqueue_archive_notice(queue: Queue, settings: Settings, invoice_id: str, reason: str) -> None:
    queue.enqueue("workers.archive.tell_archive_failed", invoice_id, reason, job_id=f"archive-notice-{invoice_id}",
                  retry=build_retry(settings), failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL,
                  description="archive failure notice")


def enqueue_welcome(queue: Queue, settings: Settings, tenant_id: int) -> None:
    queue.enqueue("workers.messages.send_welcome", tenant_id, retry=build_retry(settings),
                  failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL, description=f"welcome tenant {tenant_id}")


def enqueue_account_notices(queue: Queue, settings: Settings, notice_ids: Iterable[int]) -> None:
    """The security notices an account change left (accounts.onboarding); the job id makes re-enqueues idempotent."""
    for notice_id in notice_ids:
        queue.enqueue("workers.messages.send_account_notice", notice_id, job_id=f"account-notice-{notice_id}",
                      retry=build_retry(settings), failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL,
                      description=f"account notice {notice_id}")


def enqueue_sender_notice(queue: Queue, settings: Settings, pseudonym: str) -> None:
    queue.enqueue("workers.messages.send_sender_notice", pseudonym, retry=build_retry(settings),
                  failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL, description="sender notice")


def enqueue_accepted(queue: Queue, settings: Settings, accepted: Accepted) -> int:
    """Enqueue what a webhook left to do; returns how many messages were enqueued. On a Redis failure the rows
    stay RECEIVED and the sweep re-enqueues them, so the webhook still answers 200."""
    enqueued = 0
    try:
        if accepted.new_ids:
            enqueue_new_messages(queue, settings, accepted.new_ids)
            enqueued = len(accepted.new_ids)
        for pseudonym in accepted.notices:
            enqueue_sender_notice(queue, settings, pseudonym)
    except redis.RedisError as exc:
        logger.error("enqueue failed (%s); left for the sweep", type(exc).__name__)
    logger.info("webhook: %d messages (%d new, %d enqueued, %d notices, %d too old), %d statuses",
                accepted.messages, len(accepted.new_ids), enqueued, len(accepted.notices), accepted.stale,
                accepted.statuses)
    return enqueued
