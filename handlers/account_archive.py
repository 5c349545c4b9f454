"""The account page's archive: the tenant's archive addresses (every issued invoice is e-mailed there before its
content is forgotten) and which invoices went there."""
from __future__ import annotations

from flask import Blueprint, Response, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from accounts.archive import ArchiveAddressInvalid, read_archive_addresses, save_archive_addresses
from handlers.account import ACTOR, add_headers, require_login
from services import get_services
from store.archive import list_archive_addresses, list_archive_history
from store.models import Tenant

bp = Blueprint("account_archive", __name__, template_folder="templates")
bp.after_request(add_headers)


def render_archive(tenant_id: int, status: int = 200, notice: str | None = None, typed: str | None = None,
                   bad: str = "") -> Response:
    services = get_services()
    with services.db.session() as db:
        tenant = db.get_one(Tenant, tenant_id)
        addresses = list_archive_addresses(db, tenant_id)
        html = render_template("account/archive.html", lang=tenant.language, tenant=tenant, notice=notice, bad=bad,
                               addresses="\n".join(addresses) if typed is None else typed,
                               invoices=list_archive_history(db, tenant_id), mail=bool(services.settings.smtp_url))
    return Response(html, status=status)


@bp.get("/konto/archiv")
@require_login
def show_archive() -> BaseResponse:
    return render_archive(g.tenant_id, notice=request.args.get("saved") and "saved")


@bp.post("/konto/archiv")
@require_login
def save_archive() -> BaseResponse:
    typed = request.form.get("addresses", "")[:2000]
    try:
        addresses = read_archive_addresses(typed.splitlines())
    except ArchiveAddressInvalid as exc:
        return render_archive(g.tenant_id, 422, "invalid" if exc.address else "too_many", typed, exc.address)
    with get_services().db.session() as db:
        save_archive_addresses(db, ACTOR, g.tenant_id, addresses)
    return redirect(url_for("account_archive.show_archive", saved=1), 303)
