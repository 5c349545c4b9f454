"""The files an invoice is issued as: Factur-X PDF/A-3b with its EN 16931 XML, and XRechnung when asked for;
a draft's plain preview PDF."""
from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from documents import RenderFailed
from documents.einvoice.check import check_xsd
from documents.einvoice.cii import Profile, build_cii_xml
from documents.einvoice.facturx import embed_factur_x
from documents.einvoice.xrechnung import check_xrechnung
from documents.invoice import DocumentKind, InvoiceDocument
from documents.pdf.render import render_invoice_pdf

logger = logging.getLogger(__name__)


def render_e_invoice(doc: InvoiceDocument) -> tuple[bytes, bytes]:
    """(Factur-X PDF/A-3b, its EN 16931 CII XML); RenderFailed if the XML breaks the schema."""
    with paused_gc():
        return build_e_invoice(doc)


def render_preview(doc: InvoiceDocument) -> bytes:
    """A draft's preview (doc.number None: marked ENTWURF, no GiroCode): the plain PDF, no PDF/A-3, no XML."""
    with paused_gc():
        return render_invoice_pdf(doc, pdf_variant=None)


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
    return render_sealed(doc)[0]


def render_sealed(doc: InvoiceDocument) -> tuple[dict[str, bytes], str]:
    """render_documents, and the SHA-256 (hex) of the EN 16931 XML embedded in the PDF: kept per issued invoice, it
    recognises the invoice when its PDF comes back (no content)."""
    pdf, xml = render_e_invoice(doc)
    digest = hashlib.sha256(xml).hexdigest()
    if doc.customer.leitweg_id:
        return {"pdf": pdf, "xrechnung": render_xrechnung(doc)}, digest
    return {"pdf": pdf, "xml": xml}, digest


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
    if doc.number is None:
        raise RenderFailed("a draft has no e-invoice: issue it first")
    xml = build_cii_xml(doc)
    problems = check_xsd(xml)
    if problems:
        logger.error("e-invoice XML of %s fails the schema: %d problems", doc.number, len(problems))
        raise RenderFailed(f"e-invoice XML invalid: {problems[0]}")
    label = "cancellation_title" if doc.kind is DocumentKind.CANCELLATION else "title"
    pdf = embed_factur_x(render_invoice_pdf(doc), xml, number=doc.number, issue_date=doc.issue_date,
                         seller_name=doc.seller.company, language=doc.language, label=label)
    return pdf, xml
