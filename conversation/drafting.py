"""Words become a draft or revise one; a draft is shown, issued or discarded. One conversation turn per call."""
from __future__ import annotations

import datetime as dt
import logging

from accounts.pricelist import catalogue_of
from conversation.changes import describe_changes
from conversation.draftview import compose_draft, draft_buttons, find_question
from conversation.ready import send_invoice_ready
from conversation.replies import Claimed, reply, send_draft_message
from documents.amounts import Filled, compute_totals, fill_prices
from documents.drafts import Draft, create_draft, find_draft, open_draft, record_shown, revise_draft, touch_draft
from documents.issuing import (
    IssuedInvoice,
    find_xrechnung_gaps_of,
    issue_draft,
    issue_invoice,
    link_expiry,
    summary_of,
    tax_mode_for,
)
from extraction import ExtractionUnconfigured
from extraction.models import CatalogueEntry, Intent, InvoiceFields
from services import Services
from store import KeyStoreUnavailable
from store.content import open_content
from store.links import create_magic_link
from store.models import Invoice, InvoiceState, Outcome, Tenant

logger = logging.getLogger(__name__)


def take_words(services: Services, claimed: Claimed, words: str) -> Outcome:
    """A transcript or a typed job: a correction of the quoted (else newest) open draft, or a new draft."""
    with services.db.session() as session:
        target = find_draft(session, services.cipher, claimed.tenant_id, quoted_wamid=claimed.quoted)
        if target is not None and target.state is not InvoiceState.DRAFT:
            decided = target
        else:
            decided = None
            draft = open_draft(session, services.cipher, target.id) if target is not None else None
        catalogue = catalogue_of(session, claimed.tenant_id)
    if decided is not None:
        return answer_decided(services, claimed, decided)
    s = services.settings
    try:
        fields = services.extractor.extract(words, dt.date.today(), claimed.language,
                                            draft.fields if draft else None, catalogue)
    except ExtractionUnconfigured as exc:
        return decline_unconfigured(services, claimed, exc.hint)
    if draft is not None and fields.intent is Intent.CORRECTION:
        return revise(services, claimed, draft, words, fields, catalogue)
    if fields.customer is None and not fields.items:
        reply(services, claimed, "nothing_invoiceable")
        return Outcome.NOTHING_INVOICEABLE
    filled = fill_prices(fields, claimed.hourly_rate, catalogue)
    if claimed.auto_issue and ready(services, claimed, filled):
        with services.db.session() as session:
            issued = issue_invoice(session, services.cipher, s, claimed.tenant_id, claimed.inbound_id, words,
                                   filled.fields, dt.date.today())
        return announce(services, claimed, issued)
    with services.db.session() as session:
        draft_id = create_draft(session, services.cipher, s, claimed.tenant_id, claimed.inbound_id, words,
                                filled.fields).id
    return show_draft(services, claimed, draft_id, filled, Outcome.DRAFTED)


def decline_unconfigured(services: Services, claimed: Claimed, hint: str) -> Outcome:
    """No extraction backend: say so in the chat, tell the operator which variable to set; no retries."""
    logger.error("inbound %s not read: no extraction backend (%s)", claimed.inbound_id, hint)
    reply(services, claimed, "extraction_unconfigured", support=services.settings.support_contact)
    return Outcome.APOLOGISED


def revise(services: Services, claimed: Claimed, draft: Draft, words: str, fields: InvoiceFields,
           catalogue: list[CatalogueEntry]) -> Outcome:
    """Apply a correction: store it, say what changed (or that nothing did), show the draft again."""
    filled = fill_prices(fields, claimed.hourly_rate, catalogue)
    changes = describe_changes(draft.fields, filled.fields, claimed.language)
    if not changes:
        return show_draft(services, claimed, draft.id, filled, Outcome.UNCHANGED, unchanged=True)
    with services.db.session() as session:
        revise_draft(session, services.cipher, draft, claimed.inbound_id, words, filled.fields)
    if claimed.auto_issue and ready(services, claimed, filled):
        return issue_chosen(services, claimed, draft.id)
    return show_draft(services, claimed, draft.id, filled, Outcome.REVISED, changes=changes)


def ready(services: Services, claimed: Claimed, filled: Filled) -> bool:
    """Nothing left to ask: the draft could be issued."""
    with services.db.session() as session:
        gaps = find_xrechnung_gaps_of(session, claimed.tenant_id, filled.fields)
    return find_question(filled.fields, filled.missing, gaps, claimed.language) is None


def show_draft(services: Services, claimed: Claimed, draft_id: str, filled: Filled, outcome: Outcome,
               changes: list[str] | None = None, unchanged: bool = False) -> Outcome:
    """Send the draft with its buttons (or its one open question) and remember the message that showed it."""
    fields, language = filled.fields, claimed.language
    with services.db.session() as session:
        tenant = session.get_one(Tenant, claimed.tenant_id)
        question = find_question(fields, filled.missing, find_xrechnung_gaps_of(session, tenant.id, fields), language)
        totals = None if filled.missing or not fields.items else compute_totals(
            fields, tenant.vat_rate, tax_mode_for(tenant, fields))
        link = None
        if question is None:
            draft = session.get_one(Invoice, draft_id)
            token = create_magic_link(session, draft_id, draft.expires_at, replace=False)
            link = services.settings.public_url(f"/e/{token}")
    body = compose_draft(fields, totals, language, changes=changes, unchanged=unchanged,
                         from_catalogue=filled.from_catalogue, question=question, link=link)
    wamid = send_draft_message(services, claimed, body, draft_buttons(draft_id, language, question is None))
    with services.db.session() as session:
        if wamid:
            record_shown(session, services.cipher, draft_id, wamid)
        else:  # went out, id unknown (conversation.outbox): an unquoted answer still goes to the newest draft
            touch_draft(session, draft_id)
    if question is not None and outcome is Outcome.DRAFTED:
        return Outcome.DETAILS_ASKED
    return outcome


def reshow(services: Services, claimed: Claimed, draft_id: str, outcome: Outcome) -> Outcome:
    """Show an open draft again as it is stored (after "Erstellen" while a question is open, or a retried job)."""
    with services.db.session() as session:
        draft = open_draft(session, services.cipher, draft_id)
    filled = fill_prices(draft.fields, claimed.hourly_rate, [])
    return show_draft(services, claimed, draft_id, filled, outcome)


def issue_chosen(services: Services, claimed: Claimed, draft_id: str | None = None) -> Outcome:
    """Erstellen / OK: number and issue the pressed, quoted or newest draft, unless a question is still open."""
    with services.db.session() as session:
        target = find_draft(session, services.cipher, claimed.tenant_id, draft_id, claimed.quoted)
    if target is None:
        reply(services, claimed, "no_draft")
        return Outcome.HELP_SENT
    if target.state is not InvoiceState.DRAFT:
        return answer_decided(services, claimed, target)
    with services.db.session() as session:
        draft = open_draft(session, services.cipher, target.id)
    filled = fill_prices(draft.fields, claimed.hourly_rate, [])
    if not ready(services, claimed, filled):
        return show_draft(services, claimed, target.id, filled, Outcome.DETAILS_ASKED)
    with services.db.session() as session:
        issued = issue_draft(session, services.cipher, services.settings, target.id, dt.date.today())
    return announce(services, claimed, issued)


def announce(services: Services, claimed: Claimed, issued: IssuedInvoice) -> Outcome:
    """After the commit: destroy the draft's old keys, send the link."""
    for ref in issued.stale_keys:
        try:
            services.cipher.destroy_key(ref)
        except KeyStoreUnavailable:  # no row references it any more; its expiry hour destroys it in the sweep
            logger.warning("a stale draft key stays until its expiry: the key store is unavailable")
    send_invoice_ready(services, claimed, issued.invoice_id, issued.number, issued.customer_name, issued.gross,
                       issued.token)
    return Outcome.INVOICED


def answer_decided(services: Services, claimed: Claimed, invoice: Invoice) -> Outcome:
    """A button or reply about a draft that is no longer open: say what became of it (an invoice still waiting
    for its download gets a fresh link: the first one may never have arrived)."""
    if invoice.number is None:
        reply(services, claimed, "draft_already_discarded")
        return Outcome.DISCARDED
    if invoice.state is InvoiceState.ISSUED:
        resend_link(services, claimed, invoice.id)
    else:
        reply(services, claimed, "draft_already_issued", number=invoice.number)
    return Outcome.INVOICED


def resend_link(services: Services, claimed: Claimed, invoice_id: str) -> None:
    """A fresh download link for an issued invoice (the earlier one stops working)."""
    with services.db.session() as session:
        invoice = session.get_one(Invoice, invoice_id)
        tenant = session.get_one(Tenant, claimed.tenant_id)
        gross, customer = summary_of(open_content(session, services.cipher, invoice.id, "fields"), tenant)
        token = create_magic_link(session, invoice.id, link_expiry(services.settings, invoice))
        number = invoice.number or ""
    send_invoice_ready(services, claimed, invoice_id, number, customer, gross, token)
