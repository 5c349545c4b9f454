"""Magic-link download: GET shows a page (no side effects), POST returns the PDF and deletes content."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, render_template
from sqlalchemy.orm import Session

from handlers.security import LINK_PAGE, csrf
from services import Services, get_services
from store import ContentGone, KeyStoreUnavailable
from store.content import delete_invoice_content, list_categories, open_content, retention_days_of
from store.links import LinkState, find_link
from store.models import DeletionTrigger, Invoice, InvoiceState, MagicLink, Tenant, utcnow
from workers.queue import enqueue_content_deletion

logger = logging.getLogger(__name__)
bp = Blueprint("download", __name__, template_folder="templates")

RETRY_AFTER_SECONDS = 60
# category -> (MIME type, file name ending)
DOCUMENT_TYPES = {"pdf": ("application/pdf", ".pdf"), "xml": ("application/xml", ".xml"),
                  "xrechnung": ("application/xml", "-XRechnung.xml")}


def _gone(state: LinkState, language: str = "de") -> Response:
    status = 404 if state is LinkState.UNKNOWN else 410
    html = render_template("link_gone.html", state=state.value, lang=language)
    return Response(html, status=status, headers=LINK_PAGE)


@bp.app_errorhandler(ContentGone)
def content_gone(_error: ContentGone) -> Response:
    """A row whose key file is destroyed (e.g. in a restored backup): the content is gone for good."""
    return _gone(LinkState.EXPIRED)


@bp.app_errorhandler(KeyStoreUnavailable)
def key_store_unavailable(error: KeyStoreUnavailable) -> Response:
    """The key store did not answer: nothing was taken or deleted; the same link works again in a moment."""
    logger.warning("%s: answered 503", error)
    html = render_template("unavailable.html", lang="de")
    return Response(html, status=503, headers={**LINK_PAGE, "Retry-After": str(RETRY_AFTER_SECONDS)})


def find_issued(session: Session, token: str) -> tuple[LinkState, MagicLink | None, Invoice | None]:
    """The link and its issued invoice; a draft's link counts as unknown (drafts are previewed on /e/, never here)."""
    state, link = find_link(session, token)
    if state is not LinkState.VALID or link is None:
        return state, None, None
    invoice = session.get_one(Invoice, link.invoice_id)
    if invoice.state is InvoiceState.DRAFT or invoice.number is None:
        return LinkState.UNKNOWN, None, None
    return state, link, invoice


@bp.get("/d/<token>")
def show(token: str) -> Response:
    services = get_services()
    with services.db.session() as session:
        state, link, invoice = find_issued(session, token)
        if link is None or invoice is None:
            return _gone(state)
        tenant = session.get_one(Tenant, invoice.tenant_id)
        days = retention_days_of(tenant, services.settings.retention_days)
        xml = "xrechnung" if "xrechnung" in list_categories(session, invoice.id) else "xml"
        html = render_template("download.html", number=invoice.number, company=tenant.company, lang=tenant.language,
                               expires_at=link.expires_at, retention_days=days, xml=xml)
    return Response(html, headers=LINK_PAGE)


def take_document(services: Services, session: Session, invoice: Invoice, category: str = "pdf") -> bytes:
    """The invoice's PDF (or its XML); marks it downloaded and, without a grace period, deletes all content (unless
    its archive copy is still to be handed off: then retention does)."""
    document = open_content(session, services.cipher, invoice.id, category)
    if invoice.downloaded_at is None:
        invoice.downloaded_at = utcnow()
        if invoice.state is InvoiceState.ISSUED:  # a cancelled one stays cancelled
            invoice.state = InvoiceState.DOWNLOADED
    if services.settings.download_grace_seconds == 0:
        delete_invoice_content(session, services.cipher, invoice, DeletionTrigger.DOWNLOAD)
    return document


def finish_download(services: Services, invoice_id: str) -> None:
    """After the commit of take_document: fold the WAL, or schedule the deletion after the grace period."""
    grace = services.settings.download_grace_seconds
    if grace == 0:
        services.db.checkpoint()
    else:
        enqueue_content_deletion(services.queue, services.settings, invoice_id, grace)
    logger.info("invoice %s downloaded", invoice_id)


def document_response(document: bytes, number: str, category: str = "pdf") -> Response:
    mimetype, ending = DOCUMENT_TYPES[category]
    filename = f"Rechnung-{number.replace('/', '-')}{ending}"
    headers = {**LINK_PAGE, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(document, mimetype=mimetype, headers=headers)


@bp.post("/d/<token>")
@bp.post("/d/<token>/<any(xml, xrechnung):category>")
@csrf.exempt  # the unguessable token in the URL is the authorisation
def download(token: str, category: str = "pdf") -> Response:
    """The Factur-X PDF, or the bare XML: XRechnung 3.0 CII when the customer has a Leitweg-ID, else EN 16931 CII."""
    services = get_services()
    with services.db.session() as session:
        state, link, invoice = find_issued(session, token)
        if link is None or invoice is None:
            return _gone(state)
        if category not in list_categories(session, invoice.id):  # e.g. /xml of an invoice made as XRechnung
            return _gone(LinkState.UNKNOWN)
        document = take_document(services, session, invoice, category)
        number, invoice_id = invoice.number or "", invoice.id  # find_issued: never None here
    finish_download(services, invoice_id)
    return document_response(document, number, category)
