"""A draft's preview link (/e/<token>): a page with the draft PDF embedded, and the PDF itself; both read only.

Link-preview crawlers fetch links, so neither GET changes anything; both answer again and again while the draft is
open. An issued or discarded draft gets the gone page; a draft the bot still asks about gets a page saying so.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import Blueprint, Response, render_template

from documents import RenderFailed
from documents.preview import render_draft_preview
from handlers.security import PREVIEW_PAGE, PREVIEW_PDF
from services import get_services
from store.links import LinkState, find_link
from store.models import Invoice, Tenant

logger = logging.getLogger(__name__)
bp = Blueprint("preview", __name__, template_folder="templates")

PREVIEW_FILENAME = "Entwurf.pdf"


def _gone(state: LinkState, language: str = "de") -> Response:
    status = 404 if state is LinkState.UNKNOWN else 410
    html = render_template("link_gone.html", state=state.value, lang=language, draft=True)
    return Response(html, status=status, headers=PREVIEW_PAGE)


def _page(state: str, language: str, company: str = "", status: int = 200) -> Response:
    """The preview page: "ready" embeds the PDF, "incomplete" asks to answer in WhatsApp, "failed" apologises."""
    html = render_template("preview.html", state=state, lang=language, company=company)
    return Response(html, status=status, headers=PREVIEW_PAGE)


@dataclass(frozen=True)
class Preview:
    state: LinkState
    language: str = "de"  # the tenant's, once the link is known (an expired one too)
    company: str = ""
    pdf: bytes | None = None  # None while the draft is incomplete (or the link not valid)
    failed: bool = False  # rendering failed (a bug, logged): the draft in WhatsApp still stands


def look_up(token: str) -> Preview:
    """Read the link, the tenant and the draft, render the preview: nothing is written."""
    services = get_services()
    with services.db.session() as session:
        state, link = find_link(session, token, draft=True)
        invoice = session.get(Invoice, link.invoice_id) if link is not None else None
        tenant = session.get(Tenant, invoice.tenant_id) if invoice is not None else None
        language = tenant.language if tenant is not None else "de"
        if state is not LinkState.VALID or invoice is None or tenant is None:
            return Preview(state, language)
        try:
            pdf = render_draft_preview(session, services.cipher, invoice.id, dt.date.today())
        except RenderFailed:
            logger.warning("preview of draft %s could not be rendered", invoice.id)
            return Preview(state, language, tenant.company, failed=True)
        return Preview(state, language, tenant.company, pdf)


def answer_unless_ready(preview: Preview) -> Response | None:
    """The gone page, the 'answer in WhatsApp' page or the apology; None when the PDF is there."""
    if preview.state is not LinkState.VALID:
        return _gone(preview.state, preview.language)
    if preview.failed:
        return _page("failed", preview.language, preview.company, status=503)
    if preview.pdf is None:
        return _page("incomplete", preview.language, preview.company, status=409)
    return None


@bp.get("/e/<token>")
def show(token: str) -> Response:
    """The page: this is a draft, not yet an invoice; the PDF framed, a link to open it; confirm in WhatsApp."""
    preview = look_up(token)
    return answer_unless_ready(preview) or _page("ready", preview.language, preview.company)


@bp.get("/e/<token>/pdf")
def show_pdf(token: str) -> Response:
    """The preview PDF inline (a plain PDF marked ENTWURF, no number, no GiroCode, no e-invoice)."""
    preview = look_up(token)
    answer = answer_unless_ready(preview)
    if answer is not None:
        return answer
    assert preview.pdf is not None
    headers = {**PREVIEW_PDF, "Content-Disposition": f'inline; filename="{PREVIEW_FILENAME}"'}
    return Response(preview.pdf, mimetype="application/pdf", headers=headers)
