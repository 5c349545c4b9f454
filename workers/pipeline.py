"""The pipeline job: voice note -> transcript -> fields -> invoice -> reply. Takes ids only."""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from rq.job import Job
from sqlalchemy import select, update

from conversation.commands import answer_text
from conversation.replies import Claimed, reply, send_invoice_ready
from conversation.texts import render_text
from documents import PriceMissing
from documents.amounts import fill_prices
from documents.issuing import find_xrechnung_gaps_of, issue_invoice, link_expiry, summary_of
from extraction.extract import extract_fields
from extraction.models import InvoiceFields
from extraction.transcribe import transcribe_audio
from services import Services, get_services
from store.content import open_content
from store.db import execute_count
from store.links import create_magic_link
from store.models import InboundMessage, InboundState, Invoice, InvoiceState, MessageKind, Outcome, Tenant, utcnow
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
                       tenant.language, tenant.vocabulary, tenant.hourly_rate, tenant.verified, envelope.get("text"))


def finish_inbound(services: Services, inbound_id: int, state: InboundState, outcome: Outcome | None,
                   error_code: str | None = None) -> None:
    with services.db.session() as session:
        session.execute(update(InboundMessage).where(InboundMessage.id == inbound_id)
                        .values(state=state, outcome=outcome, error_code=error_code, updated_at=utcnow(),
                                body_sealed=None, media_id=None))


def resend_existing(services: Services, claimed: Claimed) -> bool:
    """After a failed reply, the invoice exists already: send a fresh link instead of a second invoice."""
    with services.db.session() as session:
        invoice = session.scalar(select(Invoice).where(Invoice.inbound_id == claimed.inbound_id))
        if invoice is None:
            return False
        if invoice.state is not InvoiceState.ISSUED:
            return True
        tenant = session.get_one(Tenant, claimed.tenant_id)
        gross, customer = summary_of(open_content(session, services.cipher, invoice.id, "fields"), tenant)
        token = create_magic_link(session, invoice.id, link_expiry(services.settings, invoice))
        number = invoice.number
    send_invoice_ready(services, claimed, number, customer, gross, token)
    return True


def process_inbound(inbound_id: int) -> str:
    """Process one inbound message; raises on failure so RQ retries it."""
    services = get_services()
    claimed = claim_inbound(services, inbound_id)
    if claimed is None:
        return "skipped"
    try:
        services.whatsapp.mark_read(claimed.wa_message_id, typing=True)
    except GraphError as exc:  # a courtesy only; the job goes on
        logger.warning("mark-as-read of inbound %s failed (code %s)", inbound_id, exc.code)
    if claimed.kind not in (MessageKind.VOICE, MessageKind.AUDIO) or not claimed.media_id:
        outcome = answer_text(services, claimed)
        if outcome is Outcome.VERIFIED:
            enqueue_welcome(services.queue, services.settings, claimed.tenant_id)
        finish_inbound(services, inbound_id, InboundState.DONE, outcome)
        return outcome.value
    if resend_existing(services, claimed):
        finish_inbound(services, inbound_id, InboundState.DONE, Outcome.INVOICED)
        return Outcome.INVOICED.value
    outcome = make_invoice(services, claimed)
    finish_inbound(services, inbound_id, InboundState.DONE, outcome)
    return outcome.value


def make_invoice(services: Services, claimed: Claimed) -> Outcome:
    s = services.settings
    audio, mime_type = services.whatsapp.download_media(claimed.media_id or "")
    transcript = transcribe_audio(services.openai, audio, mime_type, s.transcribe_model, claimed.language,
                                  claimed.vocabulary)
    del audio
    today = dt.date.today()
    fields = extract_fields(services.anthropic, s.extract_model, transcript, today, claimed.language)
    if not fields.is_invoiceable:
        reply(services, claimed, "nothing_invoiceable")
        return Outcome.NOTHING_INVOICEABLE
    try:
        fields = fill_prices(fields, claimed.hourly_rate)
    except PriceMissing as exc:
        reply(services, claimed, "price_missing", items=", ".join(exc.descriptions))
        return Outcome.PRICE_ASKED
    if fields.reverse_charge and fields.customer and not fields.customer.vat_id:
        reply(services, claimed, "vat_id_missing", customer=fields.customer.name)  # §14a UStG, EN 16931 BR-AE-02
        return Outcome.PRICE_ASKED
    if ask_for_xrechnung_gaps(services, claimed, fields):
        return Outcome.DETAILS_ASKED
    with services.db.session() as session:
        issued = issue_invoice(session, services.cipher, s, claimed.tenant_id, claimed.inbound_id, transcript, fields,
                               today)
    send_invoice_ready(services, claimed, issued.number, issued.customer_name, issued.gross, issued.token)
    return Outcome.INVOICED


def ask_for_xrechnung_gaps(services: Services, claimed: Claimed, fields: InvoiceFields) -> bool:
    """A Leitweg-ID was said but the XRechnung lacks something: ask for it (True), make no invoice yet."""
    with services.db.session() as session:
        gaps = find_xrechnung_gaps_of(session, claimed.tenant_id, fields)
    if not gaps or fields.customer is None:
        return False
    customer, leitweg_id = fields.customer.name, fields.customer.leitweg_id
    lines = [render_text(f"gap_{gap.value}", claimed.language, customer=customer, leitweg_id=leitweg_id)
             for gap in gaps]
    reply(services, claimed, "xrechnung_gaps", customer=customer, gaps="\n".join(lines))
    return True


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
