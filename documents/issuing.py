"""Issue an invoice: number, render, seal content, magic link, all in one transaction."""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from documents.amounts import TaxMode, Totals, compute_totals
from documents.einvoice.xrechnung import Gap, find_xrechnung_gaps
from documents.files import render_documents
from documents.invoice import InvoiceDocument, Seller
from documents.numbering import claim_next_number, format_invoice_number
from extraction.models import InvoiceFields
from settings import Settings
from store.content import retention_days_of, seal_contents
from store.crypto import ContentCipher
from store.links import create_magic_link
from store.models import Invoice, Tenant, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssuedInvoice:
    invoice_id: str
    number: str
    token: str
    gross: Decimal
    customer_name: str


def tax_mode_for(tenant: Tenant, fields: InvoiceFields) -> TaxMode:
    if tenant.small_business:
        return TaxMode.SMALL_BUSINESS
    return TaxMode.REVERSE_CHARGE if fields.reverse_charge else TaxMode.STANDARD


def build_document(tenant: Tenant, fields: InvoiceFields, totals: Totals, number: str,
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
    """Seven days (LINK_DAYS) or the end of retention, whichever comes first."""
    return min(invoice.created_at + dt.timedelta(days=settings.link_days), invoice.expires_at)


def issue_invoice(session: Session, cipher: ContentCipher, settings: Settings, tenant_id: int,
                  inbound_id: int | None, transcript: str, fields: InvoiceFields, issue_date: dt.date) -> IssuedInvoice:
    """Number, files, sealed content and link in the caller's transaction: a failed render rolls it all back."""
    counter = claim_next_number(session, tenant_id)
    tenant = session.get_one(Tenant, tenant_id)
    totals = compute_totals(fields, tenant.vat_rate, tax_mode_for(tenant, fields))
    number = format_invoice_number(tenant.number_format, counter, issue_date)
    documents = render_documents(build_document(tenant, fields, totals, number, issue_date))
    now = utcnow()
    expires_at = now + dt.timedelta(days=retention_days_of(tenant, settings.retention_days))
    invoice = Invoice(tenant_id=tenant_id, inbound_id=inbound_id, number=number, created_at=now,
                      expires_at=expires_at)
    session.add(invoice)
    session.flush()
    seal_contents(session, cipher, invoice.id, expires_at, {
        "transcript": transcript.encode(),
        "fields": fields.model_dump_json().encode(),
        **documents,
    })
    token = create_magic_link(session, invoice.id, link_expiry(settings, invoice))
    logger.info("invoice %s rendered (%s)", invoice.id, ", ".join(sorted(documents)))
    assert fields.customer is not None
    return IssuedInvoice(invoice.id, number, token, totals.gross, fields.customer.name)


def summary_of(fields_json: bytes, tenant: Tenant) -> tuple[Decimal, str]:
    """Gross and customer name of a stored invoice (for re-sending a link after a failed reply)."""
    fields = InvoiceFields.model_validate(json.loads(fields_json))
    totals = compute_totals(fields, tenant.vat_rate, tax_mode_for(tenant, fields))
    return totals.gross, fields.customer.name if fields.customer else ""
