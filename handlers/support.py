"""Support console under /support: staff login (password + TOTP), session and security hooks, template helpers.

Staff see states and metadata, never content. Every action is audited with the staff e-mail as actor.
The tenant screens live in handlers.support_tenants, the deletion screens in handlers.support_privacy;
both add their routes to this module's blueprint.
"""
from __future__ import annotations

import datetime as dt
import math
import secrets
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy.exc import NoResultFound
from werkzeug.wrappers import Response as BaseResponse

from accounts.staff import LoginOutcome, authenticate
from accounts.staff_sessions import IDLE_TIMEOUT, end_staff_session, find_staff_session, open_staff_session
from handlers.security import CONSOLE_PAGE, build_console_csp, csrf
from services import get_services

bp = Blueprint("support", __name__, url_prefix="/support", template_folder="templates")
csrf.exempt(bp)  # not app-wide: check_form_token runs after require_staff, so a stranger's POST gets 403

PUBLIC_ENDPOINTS = frozenset({"support.login", "support.login_post"})
LOCAL_ZONE = ZoneInfo("Europe/Berlin")


def local_time(value: dt.datetime | None) -> str:
    return value.astimezone(LOCAL_ZONE).strftime("%d.%m.%Y %H:%M") if value else "–"


def session_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=get_services().settings.support_session_hours)


@bp.before_request
def require_staff() -> BaseResponse | None:
    """Every route but the login needs a live server-side session: used within the last 15 minutes, younger than
    SUPPORT_SESSION_HOURS, not logged out, of an active account. The cookie holds only the session's token."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = session.get("staff_session")
    if isinstance(token, str):
        with get_services().db.session() as db:
            staff = find_staff_session(db, token, IDLE_TIMEOUT, session_lifetime())
        if staff is not None:
            g.staff_email = staff.email
            return None
    session.clear()
    if token is not None:
        flash("Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.", "error")
    if request.method in ("GET", "HEAD"):
        return redirect(url_for("support.login"))
    abort(403)


@bp.before_request
def check_form_token() -> None:
    """After require_staff: a POST without the session's form token gets 400 (see refuse_expired_form)."""
    csrf.protect()


@bp.after_request
def add_security_headers(response: Response) -> Response:
    response.headers.update({**CONSOLE_PAGE, **build_console_csp(g.get("csp_nonce"))})
    return response


@bp.context_processor
def template_helpers() -> dict[str, Any]:
    g.csp_nonce = g.get("csp_nonce") or secrets.token_urlsafe(16)
    return {"csp_nonce": g.csp_nonce, "lang": "de", "staff_email": g.get("staff_email"), "local_time": local_time}


@bp.errorhandler(NoResultFound)
def tenant_not_found(_error: NoResultFound) -> tuple[str, int]:
    return render_template("support/not_found.html"), 404


# --- login --------------------------------------------------------------------------------------

@bp.get("/login")
def login() -> str:
    return render_template("support/login.html")


@bp.post("/login")
def login_post() -> BaseResponse | tuple[str, int, dict[str, str]]:
    form = request.form
    services = get_services()
    token = None
    with services.db.session() as db:
        result = authenticate(db, services.cipher, form.get("email", ""), form.get("password", ""),
                              form.get("code", ""), source=request.remote_addr or "")
        if result.outcome is LoginOutcome.OK and result.staff_id is not None:
            token = open_staff_session(db, result.staff_id)
    if token is not None:
        session.clear()
        session.permanent = True
        session["staff_session"] = token
        return redirect(url_for("support.tenants"))
    page = render_template("support/login.html", email=form.get("email", ""), retry_at=result.retry_at,
                           failed=True)
    if result.retry_at is None:
        return page, 401, {}
    wait = max(1, math.ceil((result.retry_at - dt.datetime.now(dt.UTC)).total_seconds()))
    return page, 429, {"Retry-After": str(wait)}


@bp.post("/logout")
def logout() -> BaseResponse:
    token = session.get("staff_session")
    if isinstance(token, str):
        with get_services().db.session() as db:
            end_staff_session(db, token)
    session.clear()
    flash("Sie sind abgemeldet.", "ok")
    return redirect(url_for("support.login"))


# --- start page ---------------------------------------------------------------------------------

@bp.get("/")
def index() -> BaseResponse:
    return redirect(url_for("support.tenants"))
