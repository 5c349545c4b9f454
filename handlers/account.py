"""The tradesperson's account page: magic-link login, the page itself, pending invoices (its forms: account_changes,
account_settings, account_archive)."""
from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from accounts.account import (
    end_account_session,
    find_account_tenant,
    find_downloadable_invoice,
    find_pending_number,
    list_pending_invoices,
)
from accounts.otp import find_pending_bank
from accounts.pricelist import list_price_items
from accounts.profiles import PROFILE_FIELDS
from handlers.download import document_response, finish_download, take_document
from handlers.security import ACCOUNT_PAGE
from services import get_services
from store.erasure import list_receipts
from store.links import find_login_link, redeem_login_link
from store.models import Tenant
from store.phones import open_phone

logger = logging.getLogger(__name__)
bp = Blueprint("account", __name__, template_folder="templates")  # form tokens: CSRFProtect, app-wide

ACTOR = "tenant"
P = ParamSpec("P")


@bp.after_request
def add_headers(response: BaseResponse) -> BaseResponse:
    response.headers.update(ACCOUNT_PAGE)
    return response


def find_logged_in(db: Session) -> Tenant | None:
    tenant_id, login_id = session.get("tenant_id"), session.get("login_id")
    if not isinstance(tenant_id, int) or not isinstance(login_id, int):
        return None
    return find_account_tenant(db, tenant_id, login_id, current_app.permanent_session_lifetime)


def find_logged_in_id() -> int | None:
    with get_services().db.session() as db:
        tenant = find_logged_in(db)
        return tenant.id if tenant else None


def require_login(view: Callable[P, BaseResponse]) -> Callable[P, BaseResponse]:
    """Decorator: without a valid login the 'send KONTO' page (403); with one, g.tenant_id for the view."""
    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> BaseResponse:
        tenant_id = find_logged_in_id()
        if tenant_id is None:
            return render_home(403)
        g.tenant_id = tenant_id
        return view(*args, **kwargs)
    return wrapped


def render_notice_page(page: str, status: int, lang: str | None = None) -> Response:
    lang = lang or request.accept_languages.best_match(["de", "en"]) or "de"
    return Response(render_template("account/notice.html", page=page, lang=lang), status=status)


def render_home(status: int = 200, notice: str | None = None, form: dict[str, str] | None = None,
                price_form: dict[str, str] | None = None, **params: Any) -> Response:
    """The account page, or the 'send KONTO' page without a valid login."""
    services = get_services()
    with services.db.session() as db:
        tenant = find_logged_in(db)
        if tenant is None:
            return render_notice_page("guest", 200 if status == 200 else 403)
        logo = f"data:{tenant.logo_mime};base64,{base64.b64encode(tenant.logo).decode()}" if tenant.logo else None
        html = render_template("account/home.html", lang=tenant.language, tenant=tenant, logo=logo,
                               invoices=list_pending_invoices(db, tenant.id), notice=notice, params=params,
                               phone=open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac),
                               receipts=list_receipts(db, tenant.id), form=form or read_profile_values(tenant),
                               prices=list_price_items(db, tenant.id), price_form=price_form or {},
                               pending_number=find_pending_number(db, services.cipher, tenant),
                               pending_bank=find_pending_bank(db, services.cipher, tenant.id))
    return Response(html, status=status)


def read_profile_values(tenant: Tenant) -> dict[str, str]:
    values = {name: "" if getattr(tenant, name) is None else str(getattr(tenant, name)) for name in PROFILE_FIELDS}
    values["vat_rate"] = format(tenant.vat_rate.normalize(), "f")
    return {**values, "small_business": "on" if tenant.small_business else ""}


def redirect_home(message: str | None = None) -> BaseResponse:
    if message:
        flash(message)
    return redirect(url_for("account.show_home"), 303)


@bp.get("/konto/login/<token>")
def show_login(token: str) -> Response:
    """No side effect: chat apps and link previews fetch this URL."""
    with get_services().db.session() as db:
        link = find_login_link(db, token)
        lang = db.get_one(Tenant, link.tenant_id).language if link else None
    if link is None:
        return render_notice_page("link_gone", 410)
    return Response(render_template("account/login.html", lang=lang))


@bp.post("/konto/login/<token>")
def log_in(token: str) -> BaseResponse:
    with get_services().db.session() as db:
        link = redeem_login_link(db, token)
        tenant_id, login_id = (link.tenant_id, link.id) if link else (None, None)
    if tenant_id is None:
        return render_notice_page("link_gone", 410)
    session.clear()  # a fresh session (and CSRF token) for the new login
    session.permanent = True
    session.update(tenant_id=tenant_id, login_id=login_id)
    logger.info("tenant %s logged in to the account page", tenant_id)
    return redirect_home()


@bp.post("/konto/abmelden")
def log_out() -> BaseResponse:
    login_id = session.get("login_id")
    if isinstance(login_id, int):
        with get_services().db.session() as db:
            end_account_session(db, login_id)
    session.clear()
    return redirect_home("logged_out")


@bp.get("/konto")
def show_home() -> Response:
    return render_home()


@bp.post("/konto/rechnungen/<invoice_id>/pdf")
def download_invoice(invoice_id: str) -> BaseResponse:
    """The same as the magic link's button: the PDF, then its content is deleted."""
    services = get_services()
    with services.db.session() as db:
        tenant = find_logged_in(db)
        invoice = find_downloadable_invoice(db, tenant.id, invoice_id) if tenant else None
        if invoice is None or invoice.number is None:  # a draft has no number and is never downloaded here
            return render_notice_page("invoice_gone", 404 if tenant else 403, tenant.language if tenant else None)
        pdf, number = take_document(services, db, invoice), invoice.number
    finish_download(services, invoice_id)
    return document_response(pdf, number)
