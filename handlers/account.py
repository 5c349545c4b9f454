"""The tradesperson's account page: magic-link login, pending invoices, profile, price list, logo, WhatsApp number."""
from __future__ import annotations

import base64
import datetime as dt
import functools
import logging
import math
import re
from collections.abc import Callable
from typing import Any, ParamSpec

import requests
from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from accounts.account import (
    LOGO_MAX_BYTES,
    end_account_session,
    find_account_tenant,
    find_downloadable_invoice,
    find_pending_number,
    list_pending_invoices,
    save_logo,
    update_profile,
)
from accounts.console import set_auto_issue
from accounts.logos import LogoRejected
from accounts.onboarding import check_code, request_bank_change, send_code
from accounts.otp import ChallengeLocked, SendLimitReached, VerifyOutcome, VerifyResult, find_pending_bank
from accounts.price_entries import PriceListError
from accounts.pricelist import delete_price_item, list_price_items, save_price_item
from accounts.profiles import PROFILE_FIELDS, ProfileInvalid
from accounts.tenants import InvalidPhone, PhoneTaken, SameNumber, check_new_number
from handlers.download import document_response, finish_download, take_document
from handlers.security import ACCOUNT_PAGE
from services import get_services
from store.audit import record_audit
from store.erasure import list_receipts
from store.links import find_login_link, redeem_login_link
from store.models import Tenant, utcnow
from store.phones import open_phone
from whatsapp import WhatsAppError
from workers.queue import enqueue_account_notices, enqueue_welcome

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


@bp.post("/konto/profil")
@require_login
def change_profile() -> BaseResponse:
    tenant_id: int = g.tenant_id
    services = get_services()
    try:
        with services.db.session() as db:
            held = update_profile(db, tenant_id, request.form)
    except ProfileInvalid as exc:
        return render_home(422, "profile_invalid", form=request.form.to_dict(), errors=exc.errors)
    if held is None:
        return redirect_home("profile_saved")
    try:  # the rest is saved; the new IBAN waits for the code sent to the verified number
        notice = request_bank_change(services, tenant_id, ACTOR, held)
    except ChallengeLocked:
        return render_home(422, "iban_locked")
    except SendLimitReached as exc:
        return render_home(429, "iban_send_limit", minutes=minutes_until(exc.retry_at))
    except (WhatsAppError, requests.RequestException) as exc:
        logger.warning("code for a new IBAN of tenant %s not sent: %s", tenant_id, type(exc).__name__)
        return render_home(502, "iban_send_failed")
    enqueue_account_notices(services.queue, services.settings, [notice])
    return redirect_home("iban_pending")


def minutes_until(moment: dt.datetime) -> int:
    return max(1, math.ceil((moment - utcnow()).total_seconds() / 60))


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


@bp.post("/konto/nummer")
@require_login
def request_number_change() -> BaseResponse:
    """Send a code to the new number; the number changes only once that code comes back."""
    tenant_id: int = g.tenant_id
    services = get_services()
    try:
        with services.db.session() as db:
            phone = check_new_number(db, services.cipher, tenant_id, request.form.get("phone", "")[:40])
        send_code(services, tenant_id, ACTOR, phone=phone)
    except (InvalidPhone, SameNumber, PhoneTaken, ChallengeLocked) as exc:
        return render_home(422, {InvalidPhone: "phone_invalid", SameNumber: "phone_same", PhoneTaken: "phone_taken",
                                 ChallengeLocked: "code_locked"}[type(exc)])
    except SendLimitReached as exc:
        return render_home(429, "send_limit" if exc.per == "number" else "send_limit_account",
                           minutes=minutes_until(exc.retry_at))
    except (WhatsAppError, requests.RequestException) as exc:  # Graph API error or no connection
        logger.warning("code to a new number of tenant %s not sent: %s", tenant_id, type(exc).__name__)
        return render_home(502, "send_failed")
    return redirect_home("code_sent")


@bp.post("/konto/nummer/code")
@require_login
def confirm_number_change() -> BaseResponse:
    tenant_id: int = g.tenant_id
    result = enter_code(tenant_id)
    if isinstance(result, BaseResponse):
        return result
    if result.bank_changed:  # the open code was the one for a new IBAN
        return redirect_home("iban_changed")
    if result.number_changed:
        with get_services().db.session() as db:
            record_audit(db, ACTOR, "number_changed", tenant_id)
        logger.info("tenant %s changed its WhatsApp number", tenant_id)
    return redirect_home("number_changed" if result.number_changed else "number_verified")


@bp.post("/konto/iban/code")
@require_login
def confirm_bank_change() -> BaseResponse:
    """The code sent to the verified number for a new IBAN: only then does the IBAN change."""
    result = enter_code(g.tenant_id)
    if isinstance(result, BaseResponse):
        return result
    return redirect_home("iban_changed" if result.bank_changed else "number_verified")


def enter_code(tenant_id: int) -> VerifyResult | BaseResponse:
    """Check the typed code against the open challenge and send what it leaves to send (welcome, notices);
    the page with the problem unless it verified."""
    code = re.sub(r"\s", "", request.form.get("code", ""))
    if not re.fullmatch(r"\d{6}", code):
        return render_home(422, "code_format")
    services = get_services()
    result = check_code(services, tenant_id, code, ACTOR)
    if result.welcome_due:
        enqueue_welcome(services.queue, services.settings, tenant_id)
    enqueue_account_notices(services.queue, services.settings, result.notices)
    if result.outcome is not VerifyOutcome.VERIFIED:
        return render_home(422, f"code_{result.outcome.value}", remaining=result.remaining)
    return result
