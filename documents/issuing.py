"""Issue an invoice: number, render, seal content, magic link, all in one transaction."""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from documents import DraftDecided
from documents.amounts import TaxMode, Totals, compute_totals
from documents.drafts import open_draft
from documents.einvoice.xrechnung import Gap, find_xrechnung_gaps
from documents.files import render_sealed
from documents.invoice import InvoiceDocument, Seller
from documents.numbering import claim_next_number, format_invoice_number
from extraction.models import InvoiceFields
from settings import Settings
from store.archive import initial_archive_state
from store.content import rekey_contents, retention_days_of
from store.crypto import ContentCipher
from store.links import create_magic_link
from store.models import Invoice, InvoiceState, Tenant, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedInvoice:
    invoice_id: str
    number: str
    token: str
    gross: Decimal
    customer_name: str
    stale_keys: list[str] = field(default_factory=list)  # key files of the draft: destroy after the commit


def tax_mode_for(tenant: Tenant, fields: InvoiceFields) -> TaxMode:
    if tenant.small_business:
        return TaxMode.SMALL_BUSINESS
    return TaxMode.REVERSE_CHARGE if fields.reverse_charge else TaxMode.STANDARD


def build_document(tenant: Tenant, fields: InvoiceFields, totals: Totals, number: str | None,
                   issue_date: dt.date) -> InvoiceDocument:
    assert fields.customer is not None
    seller = Seller(company=tenant.company, street=tenant.street, postal_code=tenant.postal_code, city=tenant.city,
                    country=tenant.country, tax_number=tenant.tax_number, vat_id=tenant.vat_id, iban=tenant.iban,
                    bic=tenant.bic, email=tenant.email, phone=tenant.business_phone, logo=tenant.logo,
                    logo_mime=tenant.logo_mime)
    return InvoiceDocument(number=number, issue_date=issue_date, service_date=fields.service_date,
                           due_date=issue_date + dt.timedelta(days=tenant.payment_terms_days),
                           language=tenant.language, seller=seller, customer=fields.customer,
                           job_title=fields.job_title, notes=fields.notes, totals=totals)


def find_xrechnung_gaps_of(session: Session, tenant_id: int, fields: InvoiceFields) -> list[Gap]:
    """What an XRechnung still needs when the customer gave a Leitweg-ID; empty otherwise."""
    if fields.customer is None or not fields.customer.leitweg_id:
        return []
    return find_xrechnung_gaps(session.get_one(Tenant, tenant_id).business_phone, fields.customer)


def link_expiry(settings: Settings, invoice: Invoice) -> dt.datetime:
    """Seven days (LINK_DAYS) from issuing or the end of retention, whichever comes first."""
    return min((invoice.issued_at or invoice.created_at) + dt.timedelta(days=settings.link_days), invoice.expires_at)


def issue_draft(session: Session, cipher: ContentCipher, settings: Settings, draft_id: str,
                issue_date: dt.date) -> IssuedInvoice:
    """Number the draft and render its files in the caller's transaction; DraftDecided when it is not open.
    The draft's old key files are returned in `stale_keys`: destroy them after the commit."""
    invoice = session.get_one(Invoice, draft_id, with_for_update=True)
    if invoice.state is not InvoiceState.DRAFT:
        raise DraftDecided(draft_id, invoice.state.value)
    draft = open_draft(session, cipher, draft_id)
    return finish_issue(session, cipher, settings, invoice, draft.words, draft.fields, issue_date)


def issue_invoice(session: Session, cipher: ContentCipher, settings: Settings, tenant_id: int,
                  inbound_id: int | None, transcript: str, fields: InvoiceFields, issue_date: dt.date) -> IssuedInvoice:
    """Issue at once, without a draft (the tenant's auto-issue setting)."""
    invoice = Invoice(tenant_id=tenant_id, inbound_id=inbound_id, created_at=utcnow(), expires_at=utcnow())
    session.add(invoice)
    session.flush()
    return finish_issue(session, cipher, settings, invoice, transcript, fields, issue_date)


def finish_issue(session: Session, cipher: ContentCipher, settings: Settings, invoice: Invoice, transcript: str,
                 fields: InvoiceFields, issue_date: dt.date) -> IssuedInvoice:
    """Number, files, sealed content and link: a failed render rolls it all back with the caller's transaction."""
    counter = claim_next_number(session, invoice.tenant_id)
    tenant = session.get_one(Tenant, invoice.tenant_id)
    totals = compute_totals(fields, tenant.vat_rate, tax_mode_for(tenant, fields))
    number = format_invoice_number(tenant.number_format, counter, issue_date)
    documents, invoice.xml_sha256 = render_sealed(build_document(tenant, fields, totals, number, issue_date))
    now = utcnow()
    invoice.number, invoice.state, invoice.issued_at = number, InvoiceState.ISSUED, now
    invoice.archive_state = initial_archive_state(session, invoice.tenant_id)  # its copy goes out after the commit
    invoice.expires_at = now + dt.timedelta(days=retention_days_of(tenant, settings.retention_days))
    stale = rekey_contents(session, cipher, invoice.id, invoice.expires_at, {
        "transcript": transcript.encode(),
        "fields": fields.model_dump_json().encode(),
        **documents,
    })
    token = create_magic_link(session, invoice.id, link_expiry(settings, invoice))  # draft previews end here
    logger.info("invoice %s rendered (%s)", invoice.id, ", ".join(sorted(documents)))
    assert fields.customer is not None
    return IssuedInvoice(invoice.id, number, token, totals.gross, fields.customer.name, stale)


def summary_of(fields_json: bytes, tenant: Tenant) -> tuple[Decimal, str]:
    """Gross and customer name of a stored invoice (for re-sending a link after a failed reply)."""
    fields = InvoiceFields.model_validate(json.loads(fields_json))
    totals = compute_totals(fields, tenant.vat_rate, tax_mode_for(tenant, fields))
    return totals.gross, fields.customer.name if fields.customer else ""
