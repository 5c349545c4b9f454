"""The account page's changes that need a code or tell someone: profile (a new IBAN waits for a code sent to the
verified number), the WhatsApp number, and the codes that confirm them. Routes of the account blueprint."""
from __future__ import annotations

import datetime as dt
import logging
import math
import re

import requests
from flask import g, request
from werkzeug.wrappers import Response as BaseResponse

from accounts.account import update_profile
from accounts.onboarding import check_code, request_bank_change, send_code
from accounts.otp import ChallengeLocked, SendLimitReached, VerifyOutcome, VerifyResult
from accounts.profiles import ProfileInvalid
from accounts.tenants import InvalidPhone, PhoneTaken, SameNumber, check_new_number
from handlers.account import ACTOR, bp, redirect_home, render_home, require_login
from services import get_services
from store.audit import record_audit
from store.models import utcnow
from whatsapp import WhatsAppError
from workers.queue import enqueue_account_notices, enqueue_welcome

logger = logging.getLogger(__name__)


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
