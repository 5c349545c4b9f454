"""The pipeline job: one inbound message -> one conversation turn (draft, correction, choice, command). Ids only."""
from __future__ import annotations

import json
import logging
from typing import Any

from rq.job import Job
from sqlalchemy import update

from conversation.replies import Claimed
from conversation.texts import render_text
from conversation.turns import answer_message
from services import Services, get_services
from store.db import execute_count
from store.models import InboundMessage, InboundState, MessageKind, Outcome, Tenant, utcnow
from store.phones import open_phone
from whatsapp import GraphError
from workers.queue import enqueue_welcome

logger = logging.getLogger(__name__)


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
                       quoted=envelope.get("context"), button=envelope.get("button"), auto_issue=tenant.auto_issue)


def finish_inbound(services: Services, inbound_id: int, state: InboundState, outcome: Outcome | None,
                   error_code: str | None = None) -> None:
    with services.db.session() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == inbound_id)
                        .values(state=state, outcome=outcome, error_code=error_code, updated_at=utcnow(),
                                body_sealed=None, media_id=None))


def process_inbound(inbound_id: int) -> str:
    """Process one inbound message (one conversation turn); raises on failure so RQ retries it."""
    services = get_services()
    claimed = claim_inbound(services, inbound_id)
    if claimed is None:
        return "skipped"
    try:
        services.whatsapp.mark_read(claimed.wa_message_id, typing=True)
    except GraphError as exc:  # a courtesy only; the job goes on
        logger.warning("mark-as-read of inbound %s failed (code %s)", inbound_id, exc.code)
    outcome = answer_message(services, claimed)
    if outcome is Outcome.VERIFIED:
        enqueue_welcome(services.queue, services.settings, claimed.tenant_id)
    finish_inbound(services, inbound_id, InboundState.DONE, outcome)
    return outcome.value


def report_failure(job: Job, connection: Any, exc_type: type[BaseException], exc: BaseException,
                   traceback: Any) -> None:
    """RQ failure callback: after the last retry, mark the message failed and apologise."""
    if job.retries_left:
        return
    inbound_id = int(job.args[0])
    services = get_services()
    logger.error("inbound %s failed for good (%s)", inbound_id, exc_type.__name__)
    finish_inbound(services, inbound_id, InboundState.FAILED, Outcome.APOLOGISED, exc_type.__name__)
    with services.db.session() as session:
        inbound = session.get(InboundMessage, inbound_id)
        tenant = session.get(Tenant, inbound.tenant_id) if inbound and inbound.tenant_id else None
        if tenant is None:
            return
        if tenant.phone_sealed is None:
            return
        phone, language = open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac), tenant.language
    services.whatsapp.send_text(phone, render_text("apology", language))
