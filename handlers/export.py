"""Data export (GDPR Art. 15/20): a single-use link from the chat (DATEN/EXPORT), or the account page."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, render_template

from handlers.account import find_logged_in_id
from handlers.security import LINK_PAGE, csrf
from services import get_services
from store.audit import record_audit
from store.export import build_export_zip
from store.links import find_login_link, redeem_login_link
from store.models import LinkPurpose, Tenant

logger = logging.getLogger(__name__)
bp = Blueprint("export", __name__, template_folder="templates")


def zip_response(data: bytes) -> Response:
    headers = {**LINK_PAGE, "Content-Disposition": 'attachment; filename="sprachrechnung-daten.zip"'}
    return Response(data, mimetype="application/zip", headers=headers)


def link_gone() -> Response:
    return Response(render_template("link_gone.html", state="used", lang="de"), status=410, headers=LINK_PAGE)


@bp.get("/export/<token>")
def show(token: str) -> Response:
    with get_services().db.session() as session:
        link = find_login_link(session, token, purpose=LinkPurpose.EXPORT)
        if link is None:
            return link_gone()
        language = session.get_one(Tenant, link.tenant_id).language
        html = render_template("export.html", lang=language, expires_at=link.expires_at)
    return Response(html, headers=LINK_PAGE)


@bp.post("/export/<token>")
@csrf.exempt  # the single-use token in the URL is the authorisation
def download(token: str) -> Response:
    services = get_services()
    with services.db.session() as session:
        link = redeem_login_link(session, token, purpose=LinkPurpose.EXPORT)
        if link is None:
            return link_gone()
        data = build_export_zip(session, services.cipher, link.tenant_id)
        record_audit(session, "tenant", "data_exported", link.tenant_id)
        logger.info("data export of tenant %s downloaded (%d bytes)", link.tenant_id, len(data))
    return zip_response(data)


@bp.post("/konto/export")
def download_from_account() -> Response:
    """The form token is checked app-wide (CSRFProtect) before this view runs."""
    tenant_id = find_logged_in_id()
    if tenant_id is None:
        abort(403)
    services = get_services()
    with services.db.session() as session:
        data = build_export_zip(session, services.cipher, tenant_id)
        record_audit(session, "tenant", "data_exported", tenant_id)
    return zip_response(data)
