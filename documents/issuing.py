"""Issue an invoice: number, render, seal content, magic link, all in one transaction."""
from __future__ import annotations

import datetime as dt
import gc
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from documents import RenderFailed
from documents.amounts import TaxMode, Totals, compute_totals
from documents.einvoice import Profile, build_cii_xml
from documents.einvoice_check import check_xsd
from documents.facturx import embed_factur_x
from documents.numbering import claim_next_number, format_invoice_number
from documents.render import InvoiceDocument, Seller, render_invoice_pdf
from documents.xrechnung import Gap, check_xrechnung, find_xrechnung_gaps
from extraction.models import InvoiceFields
from services import Services
from store.content import seal_contents
from store.links import create_magic_link
from store.models import Invoice, Tenant, utcnow
from store.tenants import retention_days_of

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


def find_xrechnung_gaps_of(services: Services, tenant_id: int, fields: InvoiceFields) -> list[Gap]:
    """What an XRechnung still needs when the customer gave a Leitweg-ID; empty otherwise."""
    if fields.customer is None or not fields.customer.leitweg_id:
        return []
    with services.db.session() as session:
        return find_xrechnung_gaps(session.get_one(Tenant, tenant_id).business_phone, fields.customer)


def render_e_invoice(doc: InvoiceDocument) -> tuple[bytes, bytes]:
    """(Factur-X PDF/A-3b, its EN 16931 CII XML); RenderFailed if the XML breaks the schema."""
    with paused_gc():
        return build_e_invoice(doc)


def render_xrechnung(doc: InvoiceDocument) -> bytes:
    """The XRechnung 3.0 CII XML; RenderFailed if it breaks the schema or a BR-DE rule (a bug: gaps are asked)."""
    xml = build_cii_xml(doc, profile=Profile.XRECHNUNG)
    problems = check_xsd(xml) + check_xrechnung(xml)
    if problems:
        logger.error("XRechnung of %s invalid: %d problems, first %s", doc.number, len(problems), problems[0])
        raise RenderFailed(f"XRechnung invalid: {problems[0]}")
    return xml


def render_documents(doc: InvoiceDocument) -> dict[str, bytes]:
    """What is sealed for download: the PDF, and the XRechnung when the customer has a Leitweg-ID, else the XML."""
    pdf, xml = render_e_invoice(doc)
    if doc.customer.leitweg_id:
        return {"pdf": pdf, "xrechnung": render_xrechnung(doc)}
    return {"pdf": pdf, "xml": xml}


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic GC during one render: WeasyPrint's many short-lived objects made it a 300 ms tail."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_e_invoice(doc: InvoiceDocument) -> tuple[bytes, bytes]:
    """XML, its schema check, the PDF and the embedding (render_e_invoice runs this with the GC paused)."""
    xml = build_cii_xml(doc)
    problems = check_xsd(xml)
    if problems:
        logger.error("e-invoice XML of %s fails the schema: %d problems", doc.number, len(problems))
        raise RenderFailed(f"e-invoice XML invalid: {problems[0]}")
    pdf = embed_factur_x(render_invoice_pdf(doc), xml, number=doc.number, issue_date=doc.issue_date,
                         seller_name=doc.seller.company, language=doc.language)
    return pdf, xml


def link_expiry(services: Services, invoice: Invoice) -> dt.datetime:
    """Seven days (LINK_DAYS) or the end of retention, whichever comes first."""
    return min(invoice.created_at + dt.timedelta(days=services.settings.link_days), invoice.expires_at)


def issue_invoice(services: Services, tenant_id: int, inbound_id: int | None, transcript: str,
                  fields: InvoiceFields, issue_date: dt.date) -> IssuedInvoice:
    """Everything or nothing: a failed render rolls back the number, the row and the content."""
    with services.db.session() as session:
        counter = claim_next_number(session, tenant_id)
        tenant = session.get_one(Tenant, tenant_id)
        totals = compute_totals(fields, tenant.vat_rate, tax_mode_for(tenant, fields))
        number = format_invoice_number(tenant.number_format, counter, issue_date)
        documents = render_documents(build_document(tenant, fields, totals, number, issue_date))
        now = utcnow()
        expires_at = now + dt.timedelta(days=retention_days_of(tenant, services.settings.retention_days))
        invoice = Invoice(tenant_id=tenant_id, inbound_id=inbound_id, number=number, created_at=now,
                          expires_at=expires_at)
        session.add(invoice)
        session.flush()
        seal_contents(session, services.cipher, invoice.id, expires_at, {
            "transcript": transcript.encode(),
            "fields": fields.model_dump_json().encode(),
            **documents,
        })
        token = create_magic_link(session, invoice.id, link_expiry(services, invoice))
    logger.info("invoice %s issued (%s)", invoice.id, ", ".join(sorted(documents)))
    assert fields.customer is not None
    return IssuedInvoice(invoice.id, number, token, totals.gross, fields.customer.name)


def summary_of(services: Services, invoice: Invoice, fields_json: bytes, tenant: Tenant) -> tuple[Decimal, str]:
    """Gross and customer name of a stored invoice (for re-sending a link after a failed reply)."""
    fields = InvoiceFields.model_validate(json.loads(fields_json))
    totals = compute_totals(fields, tenant.vat_rate, tax_mode_for(tenant, fields))
    return totals.gross, fields.customer.name if fields.customer else ""
