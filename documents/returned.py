"""Cancellation after the content is gone: the tradesperson sends the invoice's PDF back. Its embedded e-invoice XML,
read in memory, must be exactly the XML this tenant was issued under that number (its SHA-256 is kept per issued
invoice, Invoice.xml_sha256, no content); the Stornorechnung and the corrected draft are then built from that XML's
fields (documents.einvoice.reading). The PDF is never stored: the caller holds it for one job only.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

from pypdf.errors import PyPdfError
from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import EInvoiceUnreadable
from documents.cancellation import Cancellation, CancellationRefused, Refusal, check_state, issue_cancellation
from documents.einvoice.embedded import read_embedded_xml
from documents.einvoice.parties import compact
from documents.einvoice.reading import Header, read_fields, read_header
from settings import Settings
from store.crypto import ContentCipher
from store.models import Invoice, Tenant

logger = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
HEADER_WINDOW = 1024  # a PDF's header may follow up to 1 KiB of other bytes (ISO 32000-1, 7.5.2, readers allow it)


def extract_xml(pdf: bytes) -> bytes:
    """The e-invoice XML embedded in a PDF, read in memory; CancellationRefused (NOT_PDF, NO_EINVOICE) otherwise."""
    if PDF_MAGIC not in pdf[:HEADER_WINDOW]:
        raise CancellationRefused(Refusal.NOT_PDF)
    try:
        xml = read_embedded_xml(pdf)
    except (PyPdfError, ValueError, KeyError) as exc:  # a broken or encrypted file
        raise CancellationRefused(Refusal.NOT_PDF) from exc
    if xml is None:
        raise CancellationRefused(Refusal.NO_EINVOICE)
    return xml


def is_seller(header: Header, tenant: Tenant) -> bool:
    """The e-invoice's seller is the tenant: the same name and one of its tax ids (VAT id, tax number)."""
    ids = {compact(i) for i in (tenant.vat_id, tenant.tax_number) if i}
    return " ".join(header.seller_name.split()) == " ".join(tenant.company.split()) and bool(ids & header.seller_ids)


def cancel_returned(session: Session, cipher: ContentCipher, settings: Settings, tenant_id: int, inbound_id: int,
                    pdf: bytes, words: str, issue_date: dt.date) -> Cancellation:
    """Cancel the invoice whose PDF came back, in the caller's transaction, as documents.cancellation does for a
    named one. CancellationRefused, with nothing changed, when the PDF is not exactly an invoice the tenant was
    issued (another seller, an unknown number, other XML than issued) or that invoice cannot be cancelled."""
    xml = extract_xml(pdf)
    try:
        header = read_header(xml)
    except EInvoiceUnreadable as exc:
        raise CancellationRefused(Refusal.NO_EINVOICE) from exc
    if not is_seller(header, session.get_one(Tenant, tenant_id)):
        raise CancellationRefused(Refusal.FOREIGN)
    original = session.scalar(select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.number == header.number)
                              .with_for_update())
    if original is None:
        raise CancellationRefused(Refusal.UNKNOWN, header.number)
    if original.xml_sha256 != hashlib.sha256(xml).hexdigest():
        logger.info("invoice %s: the returned XML is not the one issued", original.id)
        raise CancellationRefused(Refusal.ALTERED, header.number)
    check_state(original)
    try:
        fields, gross = read_fields(xml)  # the XML issued: it is read as written
    except EInvoiceUnreadable as exc:
        raise CancellationRefused(Refusal.NO_EINVOICE, header.number) from exc
    return issue_cancellation(session, cipher, settings, original, fields, gross, inbound_id, words, words, issue_date)
