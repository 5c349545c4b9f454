"""Support console: tenant list, create/edit, disable/enable, messages, audit log (codes: support_codes; price list
and auto-issue: support_settings).

Registers its routes on handlers.support.bp; staff see states and metadata, never content.
"""
from __future__ import annotations

import logging

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from accounts.account import find_pending_number
from accounts.banking import mask_iban
from accounts.console import (
    create_tenant,
    list_audit,
    list_tenants,
    recent_messages,
    set_tenant_active,
    update_tenant,
)
from accounts.otp import (
    MAX_FAILURES,
    find_pending_bank,
    open_challenge,
)
from accounts.pricelist import list_price_items
from accounts.profiles import PROFILE_FIELDS, ProfileInvalid, read_new_profile
from accounts.tenants import InvalidPhone, PhoneTaken, normalise_phone
from handlers.support import bp
from handlers.support_codes import request_iban_code
from services import get_services
from store.erasure import list_receipts
from store.models import Tenant
from store.phones import open_phone

logger = logging.getLogger(__name__)

PHONE_ERRORS = {InvalidPhone: "invalid", PhoneTaken: "taken"}



@bp.get("/tenants")
def tenants() -> str:
    with get_services().db.session() as db:
        rows = list_tenants(db)
    return render_template("support/tenants.html", tenants=rows)


@bp.get("/tenants/new")
def tenant_new() -> str:
    defaults = {"vat_rate": "19", "payment_terms_days": "14", "language": "de"}
    return render_template("support/tenant_form.html", values=defaults, errors={}, tenant_id=None)


@bp.post("/tenants/new")
def tenant_create() -> BaseResponse | tuple[str, int]:
    form = request.form.to_dict()
    errors: dict[str, str] = {}
    try:
        profile = read_new_profile(form)
    except ProfileInvalid as exc:
        errors.update(exc.errors)
    try:
        normalise_phone(form.get("phone", ""))
        if not errors:
            services = get_services()
            with services.db.session() as db:
                tenant_id = create_tenant(db, services.cipher, g.staff_email, form.get("phone", ""), profile)
            flash("Betrieb angelegt. Senden Sie jetzt den Code an die WhatsApp-Nummer.", "ok")
            return redirect(url_for("support.tenant", tenant_id=tenant_id))
    except (InvalidPhone, PhoneTaken) as exc:
        errors["phone"] = PHONE_ERRORS[type(exc)]
    return render_template("support/tenant_form.html", values=form, errors=errors, tenant_id=None), 422


@bp.get("/tenants/<int:tenant_id>")
def tenant(tenant_id: int) -> str:
    services = get_services()
    with services.db.session() as db:
        record = db.get_one(Tenant, tenant_id)
        challenge = open_challenge(db, tenant_id)
        audit = list_audit(db, tenant_id, limit=50)
        phone = None if record.offboarded_at else open_phone(services.cipher, record.phone_sealed, record.phone_hmac)
        new_number = find_pending_number(db, services.cipher, record) if phone else None
        pending_bank = find_pending_bank(db, services.cipher, tenant_id)
        receipts = list_receipts(db, tenant_id)
        prices = list_price_items(db, tenant_id)
    return render_template("support/tenant.html", tenant=record, challenge=challenge, audit=audit, phone=phone,
                           new_number=new_number, receipts=receipts, prices=prices, max_failures=MAX_FAILURES,
                           pending_iban=mask_iban(pending_bank.iban) if pending_bank else None)


@bp.get("/tenants/<int:tenant_id>/edit")
def tenant_edit(tenant_id: int) -> str:
    with get_services().db.session() as db:
        record = db.get_one(Tenant, tenant_id)
    values = {key: getattr(record, key) for key in PROFILE_FIELDS}
    values["vat_rate"] = format(record.vat_rate.normalize(), "f")  # 19.00 -> "19", as the choices say it
    return render_template("support/tenant_form.html", values=values, errors={}, tenant_id=tenant_id)


@bp.post("/tenants/<int:tenant_id>/edit")
def tenant_update(tenant_id: int) -> BaseResponse | tuple[str, int]:
    form = request.form.to_dict()
    form.setdefault("small_business", "")  # an unticked checkbox is not sent
    services = get_services()
    try:
        with services.db.session() as db:
            changed, held = update_tenant(db, g.staff_email, tenant_id, form)
    except ProfileInvalid as exc:
        return render_template("support/tenant_form.html", values=form, errors=exc.errors, tenant_id=tenant_id), 422
    flash("Änderungen gespeichert." if changed else "Keine Änderungen.", "ok")
    if held is not None:  # the new IBAN of a verified tenant waits for the code sent to its number
        request_iban_code(tenant_id, held)
    return redirect(url_for("support.tenant", tenant_id=tenant_id))


@bp.post("/tenants/<int:tenant_id>/disable")
def tenant_disable(tenant_id: int) -> BaseResponse:
    with get_services().db.session() as db:
        changed = set_tenant_active(db, g.staff_email, tenant_id, False)
    flash("Nummer gesperrt: Nachrichten dieses Betriebs werden nicht mehr verarbeitet." if changed
          else "Die Nummer war bereits gesperrt.", "ok")
    return redirect(url_for("support.tenant", tenant_id=tenant_id))


@bp.post("/tenants/<int:tenant_id>/enable")
def tenant_enable(tenant_id: int) -> BaseResponse:
    with get_services().db.session() as db:
        changed = set_tenant_active(db, g.staff_email, tenant_id, True)
    flash("Nummer freigegeben." if changed else "Die Nummer war bereits freigegeben.", "ok")
    return redirect(url_for("support.tenant", tenant_id=tenant_id))


@bp.get("/tenants/<int:tenant_id>/messages")
def tenant_messages(tenant_id: int) -> str:
    with get_services().db.session() as db:
        record = db.get_one(Tenant, tenant_id)
        messages = recent_messages(db, tenant_id)
    return render_template("support/messages.html", tenant=record, messages=messages)


@bp.get("/audit")
def audit() -> str:
    with get_services().db.session() as db:
        entries = list_audit(db)
        companies = {row.id: row.company for row in list_tenants(db)}
    return render_template("support/audit.html", entries=entries, companies=companies)
