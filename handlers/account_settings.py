"""The account page's settings: price list, issuing without a draft, logo. Routes of the account blueprint."""
from __future__ import annotations

from flask import g, request
from werkzeug.wrappers import Response as BaseResponse

from accounts.account import LOGO_MAX_BYTES, save_logo
from accounts.console import set_auto_issue
from accounts.logos import LogoRejected
from accounts.price_entries import PriceListError
from accounts.pricelist import delete_price_item, save_price_item
from handlers.account import ACTOR, bp, redirect_home, render_home, require_login
from services import get_services


@bp.post("/konto/preise")
@require_login
def save_price() -> BaseResponse:
    """Add a price list entry, or update the one with the same description."""
    tenant_id: int = g.tenant_id
    form = {name: request.form.get(name, "")[:400] for name in ("description", "unit", "unit_price", "vat_rate")}
    try:
        with get_services().db.session() as db:
            save_price_item(db, tenant_id, form["description"], form["unit"], form["unit_price"], form["vat_rate"])
    except PriceListError as exc:
        return render_home(422, f"price_{exc.field}", price_form=form)
    return redirect_home("price_saved")


@bp.post("/konto/preise/<int:item_id>/loeschen")
@require_login
def delete_price(item_id: int) -> BaseResponse:
    """Only the tenant's own entries: another tenant's id is as unknown as a made-up one."""
    tenant_id: int = g.tenant_id
    with get_services().db.session() as db:
        deleted = delete_price_item(db, tenant_id, item_id)
    return redirect_home("price_deleted") if deleted else render_home(404, "price_gone")


@bp.post("/konto/sofort")
@require_login
def change_auto_issue() -> BaseResponse:
    """Issue invoices at once, without a draft to check first (an unticked checkbox is not sent)."""
    tenant_id: int = g.tenant_id
    auto_issue = "auto_issue" in request.form
    with get_services().db.session() as db:
        set_auto_issue(db, tenant_id=tenant_id, actor=ACTOR, auto_issue=auto_issue)
    return redirect_home("auto_issue_on" if auto_issue else "auto_issue_off")


@bp.post("/konto/logo")
@require_login
def upload_logo() -> BaseResponse:
    tenant_id: int = g.tenant_id
    upload = request.files.get("logo")
    data = upload.stream.read(LOGO_MAX_BYTES + 1) if upload else b""
    try:
        with get_services().db.session() as db:
            save_logo(db, tenant_id, data)
    except LogoRejected as exc:
        return render_home(422, f"logo_{exc.reason}")
    return redirect_home("logo_saved")
