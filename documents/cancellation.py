"""Cancellation (Storno): a Stornorechnung with its own number undoes an issued invoice, and the invoice's fields
become a new draft for the corrected invoice; all in the caller's transaction, as documents.issuing issues.

What is kept per issued invoice for a later cancellation is no content: its number, date (issued_at), state
(issued ... cancelled) and the SHA-256 of its XML (Invoice.xml_sha256), so an invoice whose content is gone can
still be recognised from its returned PDF. Its fields are content: while they exist they are used here.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import DocumentError
from documents.amounts import compute_totals, round_cents
from documents.drafts import create_draft
from documents.einvoice.parts import NAMESPACES
from documents.files import render_sealed
from documents.invoice import CancelledInvoice, DocumentKind
from documents.issuing import build_document, link_expiry, tax_mode_for
from documents.numbering import claim_next_number, format_invoice_number
from extraction.models import InvoiceFields
from settings import Settings
from store import ContentGone
from store.archive import initial_archive_state
from store.content import open_content, retention_days_of, seal_contents
from store.crypto import ContentCipher
from store.links import create_magic_link
from store.models import Invoice, InvoiceState, Tenant, utcnow

logger = logging.getLogger(__name__)


class Refusal(str, Enum):
    """Why a cancellation was refused; nothing was changed."""

    NO_NUMBER = "no_number"  # no invoice number was named (a draft has none: it is discarded instead)
    UNKNOWN = "unknown"  # no invoice of this tenant has that number (another tenant's is just as unknown)
    ALREADY_CANCELLED = "already_cancelled"
    IS_CANCELLATION = "is_cancellation"  # a Stornorechnung is not cancelled itself
    CONTENT_GONE = "content_gone"  # the invoice's content was deleted: its PDF must come back
    TERMS_CHANGED = "terms_changed"  # the profile's tax settings changed since: the amounts would not be reversed
    # a returned PDF (documents.returned):
    NOT_PDF = "not_pdf"  # the document is no (readable) PDF
    NO_EINVOICE = "no_einvoice"  # a PDF without an e-invoice (CII XML) inside, or one not written like ours
    FOREIGN = "foreign"  # the e-invoice's seller is not this tenant (another tenant's invoice, another business's)
    ALTERED = "altered"  # its XML is not the one issued under that number (SHA-256 differs)


class CancellationRefused(DocumentError):
    def __init__(self, refusal: Refusal, number: str | None = None) -> None:
        super().__init__(f"cancellation refused: {refusal.value}")
        self.refusal = refusal
        self.number = number


@dataclass(frozen=True)
class Cancellation:
    """A Stornorechnung just issued (or found again by a retried turn) and the corrected invoice's draft."""

    cancellation_id: str
    number: str
    gross: Decimal  # negative: the cancelled invoice's gross reversed
    customer_name: str
    cancelled_number: str
    cancelled_date: dt.date
    draft_id: str | None  # the corrected invoice's draft, None once it is no longer open
    draft_fields: InvoiceFields | None
    token: str | None = None  # the download link's token; None on a retry (a fresh one is made when sending)


def compact_number(text: str) -> str:
    """An invoice number's letters and digits, lower case: "RE-2026-0042" -> "re20260042"."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def find_named_invoice(session: Session, tenant_id: int, words: str) -> Invoice | None:
    """The tenant's numbered invoice whose number the words name, separators as said or heard ("RE 2026 0042",
    "re-2026-0042"); the longest such number when several match. Only this tenant's invoices are looked at."""
    text = words.casefold()
    best: tuple[int, str] | None = None
    for invoice_id, number in session.execute(select(Invoice.id, Invoice.number).where(
            Invoice.tenant_id == tenant_id, Invoice.number.is_not(None))):
        letters = compact_number(number or "")
        if not letters:
            continue
        pattern = r"(?<![0-9a-z])" + r"[^0-9a-z]*".join(map(re.escape, letters)) + r"(?![0-9a-z])"
        if re.search(pattern, text) and (best is None or len(letters) > best[0]):
            best = (len(letters), invoice_id)
    return session.get(Invoice, best[1]) if best else None


def check_state(invoice: Invoice | None) -> Invoice:
    """The invoice when it is an issued invoice not cancelled yet (content or not); CancellationRefused otherwise."""
    if invoice is None or invoice.number is None or invoice.state is InvoiceState.DRAFT:
        raise CancellationRefused(Refusal.UNKNOWN)
    if invoice.cancels_id is not None:
        raise CancellationRefused(Refusal.IS_CANCELLATION, invoice.number)
    if invoice.state is InvoiceState.CANCELLED:
        raise CancellationRefused(Refusal.ALREADY_CANCELLED, invoice.number)
    return invoice


def check_cancellable(session: Session, cipher: ContentCipher, invoice: Invoice | None) -> InvoiceFields:
    """The invoice's fields when it can be cancelled now; CancellationRefused otherwise."""
    invoice = check_state(invoice)
    if invoice.deleted_at is not None or invoice.state is InvoiceState.DELETED:
        raise CancellationRefused(Refusal.CONTENT_GONE, invoice.number)
    try:
        return InvoiceFields.model_validate(json.loads(open_content(session, cipher, invoice.id, "fields")))
    except ContentGone as exc:
        raise CancellationRefused(Refusal.CONTENT_GONE, invoice.number) from exc


def stated_gross(session: Session, cipher: ContentCipher, invoice_id: str) -> Decimal | None:
    """The gross (BT-112) the issued invoice's XML states, None when it is not at hand."""
    for category in ("xml", "xrechnung"):
        try:
            xml = open_content(session, cipher, invoice_id, category)
        except ContentGone:
            continue
        found = etree.fromstring(xml).xpath("//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
                                            "ram:GrandTotalAmount/text()", namespaces=NAMESPACES)
        return Decimal(str(found[0])) if found else None
    return None


def issued_on(invoice: Invoice) -> dt.date:
    """The issue date of an issued invoice (its number's date)."""
    return (invoice.issued_at or invoice.created_at).date()


def cancel_invoice(session: Session, cipher: ContentCipher, settings: Settings, tenant_id: int, inbound_id: int,
                   words: str, issue_date: dt.date) -> Cancellation:
    """Issue the Stornorechnung of the invoice the words name, mark that invoice CANCELLED and open the corrected
    invoice as a draft, in the caller's transaction (a failed render rolls all of it back, the number included).
    CancellationRefused, with nothing changed, when no number is named or that invoice cannot be cancelled."""
    if not re.search(r"\d", words):
        raise CancellationRefused(Refusal.NO_NUMBER)
    named = find_named_invoice(session, tenant_id, words)
    original = session.get(Invoice, named.id, with_for_update=True) if named is not None else None
    fields = check_cancellable(session, cipher, original)
    assert original is not None
    transcript = open_content(session, cipher, original.id, "transcript").decode()
    return issue_cancellation(session, cipher, settings, original, fields, stated_gross(session, cipher, original.id),
                              inbound_id, words, transcript, issue_date)


def issue_cancellation(session: Session, cipher: ContentCipher, settings: Settings, original: Invoice,
                       fields: InvoiceFields, gross: Decimal | None, inbound_id: int, words: str, draft_words: str,
                       issue_date: dt.date) -> Cancellation:
    """The Stornorechnung of `original` (locked, checked) from its fields, whose gross must be the one the invoice
    stated (`gross`, when known); the invoice CANCELLED and the corrected draft (with `draft_words`) opened."""
    assert original.number is not None and fields.customer is not None
    tenant_id = original.tenant_id
    tenant = session.get_one(Tenant, tenant_id)
    totals = compute_totals(fields, tenant.vat_rate, tax_mode_for(tenant, fields))
    if gross not in (None, round_cents(totals.gross)):
        raise CancellationRefused(Refusal.TERMS_CHANGED, original.number)  # e.g. the profile's VAT rate changed since
    counter = claim_next_number(session, tenant_id)
    number = format_invoice_number(tenant.number_format, counter, issue_date)
    cancelled = CancelledInvoice(original.number, issued_on(original))
    document = replace(build_document(tenant, fields, totals, number, issue_date), kind=DocumentKind.CANCELLATION,
                       cancels=cancelled)
    contents, digest = render_sealed(document)
    now = utcnow()
    expires_at = now + dt.timedelta(days=retention_days_of(tenant, settings.retention_days))
    row = Invoice(tenant_id=tenant_id, inbound_id=inbound_id, number=number, state=InvoiceState.ISSUED, created_at=now,
                  issued_at=now, expires_at=expires_at, xml_sha256=digest, cancels_id=original.id,
                  archive_state=initial_archive_state(session, tenant_id))
    session.add(row)
    session.flush()
    seal_contents(session, cipher, row.id, expires_at, {"transcript": words.encode(),
                                                        "fields": fields.model_dump_json().encode(), **contents})
    token = create_magic_link(session, row.id, link_expiry(settings, row))
    original.state = InvoiceState.CANCELLED  # number, date, receipts and retention stay as they are
    corrected = fields.model_copy(update={"missing": []})
    draft = create_draft(session, cipher, settings, tenant_id, None, draft_words, corrected)
    draft.revised_by = inbound_id  # a retried turn finds the draft it offered (conversation.choices.repeat_turn)
    logger.info("invoice %s cancelled by %s; corrected draft %s", original.id, row.id, draft.id)
    return Cancellation(row.id, number, -totals.gross, fields.customer.name, cancelled.number, cancelled.issue_date,
                        draft.id, corrected, token)


def find_cancellation(session: Session, cipher: ContentCipher, cancellation: Invoice, inbound_id: int) -> Cancellation:
    """A Stornorechnung issued by the message `inbound_id`, as its retried turn shows it again."""
    original = session.get_one(Invoice, cancellation.cancels_id)
    tenant = session.get_one(Tenant, cancellation.tenant_id)
    fields = InvoiceFields.model_validate(json.loads(open_content(session, cipher, cancellation.id, "fields")))
    totals = compute_totals(fields, tenant.vat_rate, tax_mode_for(tenant, fields))
    draft = session.scalar(select(Invoice).where(Invoice.tenant_id == tenant.id, Invoice.revised_by == inbound_id,
                                                 Invoice.state == InvoiceState.DRAFT))
    draft_fields = None
    if draft is not None:
        draft_fields = InvoiceFields.model_validate(json.loads(open_content(session, cipher, draft.id, "fields")))
    return Cancellation(cancellation.id, cancellation.number or "", -totals.gross,
                        fields.customer.name if fields.customer else "", original.number or "", issued_on(original),
                        draft.id if draft is not None else None, draft_fields)


def renew_link(session: Session, settings: Settings, invoice_id: str) -> str:
    """A fresh download link of an issued document (earlier ones stop working)."""
    invoice = session.get_one(Invoice, invoice_id)
    return create_magic_link(session, invoice_id, link_expiry(settings, invoice))
