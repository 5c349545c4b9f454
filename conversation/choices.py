"""The tradesperson's choices about drafts: a button press, ABBRECHEN, STATUS, and a retried turn shown again."""
from __future__ import annotations

import logging

from sqlalchemy import or_, select

from conversation.customer import send_to_customer
from conversation.drafting import answer_decided, issue_chosen, reshow
from conversation.draftview import DraftAction, parse_button_id
from conversation.ready import parse_send_button
from conversation.replies import Claimed, reply, send_plain
from conversation.storno import repeat_cancellation
from conversation.texts import render_text
from documents import PriceMissing
from documents.drafts import discard_draft, find_draft, list_open_drafts, touch_draft
from documents.issuing import summary_of
from documents.labels import locale_of
from documents.pdf.formatting import format_money
from extraction.models import InvoiceFields
from services import Services
from store.content import open_content
from store.models import Invoice, InvoiceState, Outcome, Tenant

logger = logging.getLogger(__name__)

STATUS_LIMIT = 20  # entries per list: the chat is no archive


def press_button(services: Services, claimed: Claimed) -> Outcome:
    """Erstellen, Ändern or Verwerfen on the draft whose message carried the button; "An Kunden senden" on an
    invoice."""
    invoice_id = parse_send_button(claimed.button)
    if invoice_id is not None:
        return send_to_customer(services, claimed, invoice_id)
    parsed = parse_button_id(claimed.button)
    if parsed is None:
        reply(services, claimed, "help")
        return Outcome.HELP_SENT
    action, draft_id = parsed
    if action is DraftAction.CREATE:
        return issue_chosen(services, claimed, draft_id)
    if action is DraftAction.CHANGE:
        return change_chosen(services, claimed, draft_id)
    return discard_chosen(services, claimed, draft_id)


def change_chosen(services: Services, claimed: Claimed, draft_id: str) -> Outcome:
    """Ändern: ask what to change; the draft becomes the newest, so an unquoted answer goes to it."""
    with services.db.session() as session:
        target = find_draft(session, services.cipher, claimed.tenant_id, draft_id)
        if target is not None and target.state is InvoiceState.DRAFT:
            touch_draft(session, target.id)
    if target is None:
        reply(services, claimed, "no_draft")
        return Outcome.HELP_SENT
    if target.state is not InvoiceState.DRAFT:
        return answer_decided(services, claimed, target)
    reply(services, claimed, "change_prompt")
    return Outcome.CHANGE_ASKED


def discard_chosen(services: Services, claimed: Claimed, draft_id: str | None = None) -> Outcome:
    """Verwerfen / ABBRECHEN: delete the pressed, quoted or newest draft at once, with a receipt."""
    with services.db.session() as session:
        target = find_draft(session, services.cipher, claimed.tenant_id, draft_id, claimed.quoted)
        receipt = None
        if target is not None and target.state is InvoiceState.DRAFT:
            receipt = discard_draft(session, services.cipher, target)
        receipt_id = receipt.id if receipt else None
    if target is None:
        reply(services, claimed, "no_draft")
        return Outcome.HELP_SENT
    if receipt_id is None:
        return answer_decided(services, claimed, target)
    services.db.checkpoint()
    reply(services, claimed, "draft_discarded", receipt=receipt_id)
    return Outcome.DISCARDED


def repeat_turn(services: Services, claimed: Claimed) -> Outcome | None:
    """A retried job whose turn already reached the database (its reply failed): show the result again instead
    of making a second draft or applying a correction twice. None when the turn has not happened yet."""
    with services.db.session() as session:
        row = session.scalar(select(Invoice).where(Invoice.tenant_id == claimed.tenant_id, or_(
            Invoice.inbound_id == claimed.inbound_id, Invoice.revised_by == claimed.inbound_id))
            .order_by(Invoice.cancels_id.is_(None)).limit(1))  # a STORNO's Stornorechnung before its draft
    if row is None:
        return None
    if row.cancels_id is not None:
        return repeat_cancellation(services, claimed, row)
    if row.state is InvoiceState.DRAFT:
        return reshow(services, claimed, row.id, Outcome.DRAFTED)
    return answer_decided(services, claimed, row)


def send_status(services: Services, claimed: Claimed) -> Outcome:
    """STATUS: open drafts and invoices waiting for their download, customer and gross only."""
    locale = locale_of(claimed.language)
    lines: list[str] = []
    with services.db.session() as session:
        tenant = session.get_one(Tenant, claimed.tenant_id)
        drafts = list_open_drafts(session, tenant.id)[:STATUS_LIMIT]
        invoices = list(session.scalars(select(Invoice).where(Invoice.tenant_id == tenant.id,
                                                              Invoice.state == InvoiceState.ISSUED)
                                        .order_by(Invoice.created_at.desc()).limit(STATUS_LIMIT)))
        for heading, rows in (("status_drafts", drafts), ("status_invoices", invoices)):
            if not rows:
                continue
            lines += ([""] if lines else []) + [render_text(heading, claimed.language)]
            for row in rows:
                fields_json = open_content(session, services.cipher, row.id, "fields")
                fields = InvoiceFields.model_validate_json(fields_json)
                customer = fields.customer.name if fields.customer else ""
                try:
                    gross = summary_of(fields_json, tenant)[0]
                    amount = format_money(-gross if row.cancels_id else gross, locale)  # a Stornorechnung: reversed
                except PriceMissing:
                    amount = render_text("status_unpriced", claimed.language)
                lines.append(render_text("status_line", claimed.language, customer=customer or "?", gross=amount))
    send_plain(services, claimed, "\n".join(lines) or render_text("status_empty", claimed.language))
    return Outcome.STATUS_SENT
