"""The pipeline job: one inbound message -> one conversation turn (draft, correction, choice, command). Ids only.

How a message ends, whatever befalls its worker:
- answered: DONE;
- a permanent error (audio that cannot be heard, media that is gone or no audio, a request an API refuses for good):
  at once, never retried, with a reply that says what was wrong (FAILED, PROBLEM_EXPLAINED);
- a temporary error: tried again (RQ's Retry); after the last try, JOB_RETRIES + 1 counted in the row's `attempts`,
  one apology (FAILED, APOLOGISED);
- its worker process dies (killed, out of memory): the row stays PROCESSING and its heartbeat stops; the sweep
  (workers.retention.recover_stuck) enqueues it again, or, its tries spent, gives up with the one apology.
Every reply goes through conversation.outbox: a turn tried again never sends its answer (or the apology) twice.
"""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rq.job import Job
from sqlalchemy import update

from conversation.outbox import answer_state, deliver
from conversation.replies import Claimed, reply
from conversation.texts import render_text
from conversation.turns import answer_message
from extraction import INPUT_STATUSES, AudioUnsupported, ExtractionError, TranscriptionFailed
from services import Services, get_services
from store.db import execute_count
from store.models import InboundMessage, InboundState, MessageKind, OutboundState, Outcome, Tenant, utcnow
from store.phones import open_phone
from whatsapp import GraphError, MediaUnavailable, WhatsAppError
from workers.archive import enqueue_pending_archives
from workers.queue import enqueue_welcome

logger = logging.getLogger(__name__)

ISSUING = frozenset({Outcome.INVOICED, Outcome.CANCELLATION_ISSUED})  # turns after which archive copies may be due


def claim_inbound(services: Services, inbound_id: int) -> Claimed | None:
    """Move a RECEIVED (or retried PROCESSING) message to PROCESSING; None if there is nothing to do."""
    with services.db.session() as session:
        claimed = execute_count(
            session,
            update(InboundMessage).where(InboundMessage.id == inbound_id,
                                         InboundMessage.state.in_([InboundState.RECEIVED, InboundState.PROCESSING]))
            .values(state=InboundState.PROCESSING, attempts=InboundMessage.attempts + 1, updated_at=utcnow()),
        )
        inbound = session.get(InboundMessage, inbound_id)
        if not claimed or inbound is None or inbound.tenant_id is None:
            return None
        tenant = session.get_one(Tenant, inbound.tenant_id)
        if not tenant.active or tenant.offboarded_at or not (tenant.verified or inbound.kind is MessageKind.TEXT):
            inbound.state, inbound.body_sealed = InboundState.REJECTED, None
            return None
        if inbound.body_sealed is None:  # its text was deleted (LÖSCHEN, offboarding) before the job ran
            inbound.state = InboundState.REJECTED
            return None
        envelope = json.loads(services.cipher.open_field(inbound.body_sealed, f"inbound/{inbound.wa_message_hmac}"))
        tenant.last_activity_at = utcnow()
        phone = open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac)
        return Claimed(inbound.id, envelope["wamid"], inbound.kind, inbound.media_id, tenant.id, phone,
                       tenant.language, tenant.vocabulary, tenant.hourly_rate, tenant.verified, envelope.get("text"),
                       quoted=envelope.get("context"), button=envelope.get("button"), auto_issue=tenant.auto_issue,
                       attempt=inbound.attempts)


def finish_inbound(services: Services, inbound_id: int, state: InboundState, outcome: Outcome | None,
                   error_code: str | None = None) -> None:
    kept = {} if outcome is Outcome.DOCUMENT_EXPLAINED else {"media_id": None}  # a STORNO may follow the document
    with services.db.session() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == inbound_id)
                        .values(state=state, outcome=outcome, error_code=error_code, updated_at=utcnow(),
                                body_sealed=None, **kept))


def max_tries(services: Services) -> int:
    """How often a message is tried before the apology: the first try and JOB_RETRIES more."""
    return services.settings.job_retries + 1


def process_inbound(inbound_id: int) -> str:
    """Process one inbound message (one conversation turn). Raises on a temporary failure with tries left, so RQ
    tries again; ends the message itself otherwise (module docstring)."""
    services = get_services()
    claimed = claim_inbound(services, inbound_id)
    if claimed is None:
        return "skipped"
    with keep_alive(services, inbound_id):
        return take_turn(services, claimed)


def take_turn(services: Services, claimed: Claimed) -> str:
    inbound_id = claimed.inbound_id
    if answer_state(services, inbound_id) is OutboundState.SENT:  # answered before an earlier try's worker died
        finish_inbound(services, inbound_id, InboundState.DONE, Outcome.ANSWERED)
        return Outcome.ANSWERED.value
    if claimed.attempt > max_tries(services):  # tried again beyond the budget (a retry of a re-enqueued job)
        give_up(services, inbound_id, "TriesSpent")
        return "failed"
    try:
        try:
            services.whatsapp.mark_read(claimed.wa_message_id, typing=True)
        except WhatsAppError as exc:  # a courtesy only; the job goes on
            logger.warning("mark-as-read of inbound %s failed (%s)", inbound_id, type(exc).__name__)
        outcome = answer_message(services, claimed)
    except Exception as exc:
        if is_permanent(exc):
            return explain(services, claimed, exc)
        if claimed.attempt >= max_tries(services):
            logger.error("inbound %s failed on its last try (%s)", inbound_id, type(exc).__name__)
            give_up(services, inbound_id, type(exc).__name__)
            return "failed"
        logger.warning("inbound %s failed on try %d (%s); tried again", inbound_id, claimed.attempt,
                       type(exc).__name__)
        raise
    if outcome is Outcome.VERIFIED:
        enqueue_welcome(services.queue, services.settings, claimed.tenant_id)
    if outcome in ISSUING:
        enqueue_pending_archives(services, claimed.tenant_id)
    finish_inbound(services, inbound_id, InboundState.DONE, outcome)
    return outcome.value


def is_permanent(exc: BaseException) -> bool:
    """An error another try cannot change (the typed errors of extraction and whatsapp say so)."""
    return isinstance(exc, (ExtractionError, GraphError)) and exc.permanent


def explain(services: Services, claimed: Claimed, exc: BaseException) -> str:
    """A permanent error: say in the chat what was wrong, end the message at once (no retry, no apology)."""
    key, values = problem_of(exc, claimed.language, services.settings.support_contact)
    logger.warning("inbound %s: %s is permanent, not tried again", claimed.inbound_id, type(exc).__name__)
    reply(services, claimed, key, **values)
    finish_inbound(services, claimed.inbound_id, InboundState.FAILED, Outcome.PROBLEM_EXPLAINED,
                   type(exc).__name__)
    return Outcome.PROBLEM_EXPLAINED.value


def problem_of(exc: BaseException, language: str, support: str) -> tuple[str, dict[str, object]]:
    """The reply (text key and values) that names a permanent error: the audio, the media, or who refused what."""
    if isinstance(exc, AudioUnsupported):
        return "problem_media_type", {"type": exc.mime_type}
    if isinstance(exc, TranscriptionFailed) and (exc.status is None or exc.status in INPUT_STATUSES):
        return "problem_audio", {}
    if isinstance(exc, MediaUnavailable):
        return "problem_media_gone", {}
    if isinstance(exc, TranscriptionFailed):
        service, status = "service_transcription", exc.status
    elif isinstance(exc, ExtractionError):
        service, status = "service_extraction", exc.status
    else:
        service, status = "service_whatsapp", getattr(exc, "code", None) or getattr(exc, "status", None)
    return "problem_refused", {"service": render_text(service, language), "status": status or "?",
                               "support": support}


def give_up(services: Services, inbound_id: int, error_code: str) -> bool:
    """End a message whose tries are spent: FAILED, its sealed body purged, and one apology (at most once, however
    many of the job, RQ's failure callback and the sweep get here). A message whose answer went out before its worker
    died ends DONE instead. True when it ended now. Raises when the apology could not be sent for now (the sweep
    tries again)."""
    with services.db.session() as session:
        inbound = session.get(InboundMessage, inbound_id)
        if inbound is None or inbound.state not in (InboundState.RECEIVED, InboundState.PROCESSING):
            return False
        tenant = session.get(Tenant, inbound.tenant_id) if inbound.tenant_id else None
        phone = (open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac)
                 if tenant is not None and tenant.phone_sealed is not None else None)
        language = tenant.language if tenant is not None else "de"
    if answer_state(services, inbound_id) is OutboundState.SENT:
        finish_inbound(services, inbound_id, InboundState.DONE, Outcome.ANSWERED)
        return True
    logger.error("inbound %s failed for good (%s): apology", inbound_id, error_code)
    if phone is not None:
        text = render_text("apology", language)
        try:
            deliver(services, inbound_id, lambda callback: services.whatsapp.send_text(
                phone, text, callback_data=callback))
        except GraphError as exc:
            if not exc.permanent:
                raise
            logger.error("the apology for inbound %s was refused (code %s)", inbound_id, exc.code)
    finish_inbound(services, inbound_id, InboundState.FAILED, Outcome.APOLOGISED, error_code)
    return True


def report_failure(job: Job, connection: Any, exc_type: type[BaseException], exc: BaseException,
                   traceback: Any) -> None:
    """RQ failure callback (a job that raised with no retry left, or one RQ found abandoned): give up on the message,
    unless it already ended."""
    if job.retries_left:
        return
    give_up(get_services(), int(job.args[0]), exc_type.__name__)


@contextmanager
def keep_alive(services: Services, inbound_id: int) -> Iterator[None]:
    """While the turn runs, touch the row every third of STUCK_AFTER_SECONDS from a thread: a row that stops being
    touched belongs to a worker that died, and the sweep takes it up again."""
    stop = threading.Event()
    interval = services.settings.stuck_after_seconds / 3

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with services.db.session() as session:
                    session.execute(update(InboundMessage).where(
                        InboundMessage.id == inbound_id, InboundMessage.state == InboundState.PROCESSING)
                        .values(updated_at=utcnow()))
            except Exception as exc:  # the next beat tries again; the turn is not disturbed
                logger.warning("heartbeat of inbound %s failed (%s)", inbound_id, type(exc).__name__)

    thread = threading.Thread(target=beat, name=f"heartbeat-{inbound_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
