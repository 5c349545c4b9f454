"""Support console: tenant list, create/edit, verification codes, disable/enable, price list and auto-issue,
messages, audit log.

Registers its routes on handlers.support.bp; staff see states and metadata, never content.
"""
from __future__ import annotations

import logging

import requests
from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from accounts.account import HeldBankChange, find_pending_number
from accounts.banking import mask_iban
from accounts.console import (
    create_tenant,
    delete_tenant_price,
    list_audit,
    list_tenants,
    recent_messages,
    reset_locked_challenge,
    save_tenant_price,
    set_auto_issue,
    set_tenant_active,
    update_tenant,
)
from accounts.onboarding import check_code, request_bank_change, send_code
from accounts.otp import (
    MAX_FAILURES,
    ChallengeLocked,
    SendLimitReached,
    VerifyOutcome,
    find_pending_bank,
    open_challenge,
)
from accounts.price_entries import PriceListError
from accounts.pricelist import list_price_items
from accounts.profiles import PROFILE_FIELDS, ProfileInvalid, read_new_profile
from accounts.tenants import InvalidPhone, PhoneTaken, check_new_number, normalise_phone
from handlers.support import bp, local_time
from services import get_services
from store.erasure import list_receipts
from store.models import Tenant
from store.phones import open_phone
from whatsapp import GraphError, NotConfigured, WhatsAppError
from workers.queue import enqueue_account_notices, enqueue_welcome

logger = logging.getLogger(__name__)

VERIFY_MESSAGES = {
    VerifyOutcome.VERIFIED: ("ok", "Code korrekt: Die Nummer ist jetzt verifiziert."),
    VerifyOutcome.EXPIRED: ("error", "Der Code ist abgelaufen (gültig 10 Minuten). Bitte senden Sie einen neuen."),
    VerifyOutcome.LOCKED: ("error", "Zu viele falsche Codes: Die Verifizierung ist gesperrt. Setzen Sie sie "
                                    "zurück und senden Sie einen neuen Code."),
    VerifyOutcome.NO_CHALLENGE: ("error", "Es gibt keinen offenen Code. Bitte senden Sie zuerst einen Code."),
    VerifyOutcome.NUMBER_TAKEN: ("error", "Die neue Nummer gehört inzwischen zu einem anderen Betrieb."),
}
PHONE_ERRORS = {InvalidPhone: "invalid", PhoneTaken: "taken"}
PRICE_ERRORS = {  # PriceListError.field of a form's entry
    "description": "Bitte eine Bezeichnung angeben (höchstens 200 Zeichen).",
    "unit": "Bitte eine Einheit aus der Liste wählen.",
    "unit_price": "Der Preis muss eine Zahl zwischen 0 und 100.000 € sein, z. B. 62,50.",
    "vat_rate": "Der Umsatzsteuersatz muss 19 %, 7 % oder 0 % sein, oder „wie im Profil“.",
    "list": "Die Preisliste ist voll: höchstens 500 Einträge.",
}
PRICE_FIELDS = ("description", "unit", "unit_price", "vat_rate")


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


def request_iban_code(tenant_id: int, held: HeldBankChange) -> None:
    services = get_services()
    iban = mask_iban(held.bank.iban)
    try:
        notice = request_bank_change(services, tenant_id, g.staff_email, held)
    except SendLimitReached as exc:
        flash(f"Die IBAN ist nicht geändert: Für diesen Betrieb wurden zu viele Codes gesendet. Der nächste ist ab "
              f"{local_time(exc.retry_at)} Uhr möglich.", "error")
        return
    except ChallengeLocked:
        flash("Die IBAN ist nicht geändert: Die Bestätigung ist nach 5 falschen Codes gesperrt. Setzen Sie sie "
              "zuerst zurück.", "error")
        return
    except (WhatsAppError, requests.RequestException) as exc:
        logger.warning("code for a new IBAN of tenant %s not sent: %s", tenant_id, type(exc).__name__)
        flash("Die IBAN ist nicht geändert: Der Code zur Bestätigung konnte nicht über WhatsApp gesendet werden. "
              "Bitte später erneut speichern.", "error")
        return
    enqueue_account_notices(services.queue, services.settings, [notice])
    flash(f"Die neue IBAN gilt erst, wenn der Betrieb sie bestätigt: Er hat per WhatsApp einen Code bekommen "
          f"(neue IBAN {iban}). Er kann ihn im Chat eingeben, auf seiner Kontoseite oder Ihnen vorlesen.", "ok")


@bp.post("/tenants/<int:tenant_id>/send-code")
def tenant_send_code(tenant_id: int) -> BaseResponse:
    services = get_services()
    new_number = request.form.get("phone", "").strip()
    try:
        with services.db.session() as db:
            db.get_one(Tenant, tenant_id)
            phone = None
            if new_number:
                phone = check_new_number(db, services.cipher, tenant_id, new_number, allow_same=True)
        send_code(services, tenant_id, g.staff_email, phone)
        flash("Code gesendet" + (f" an {phone}" if phone else "") + ". Er ist 10 Minuten gültig.", "ok")
    except InvalidPhone:
        flash("Das ist keine gültige Telefonnummer (Beispiel: +49 176 12345678).", "error")
    except PhoneTaken:
        flash("Diese WhatsApp-Nummer gehört bereits zu einem anderen Betrieb.", "error")
    except SendLimitReached as exc:
        flash(f"Höchstens 3 Codes pro Stunde und Nummer. Der nächste ist ab {local_time(exc.retry_at)} Uhr "
              "möglich.", "error")
    except ChallengeLocked:
        flash("Die Verifizierung ist nach 5 falschen Codes gesperrt. Setzen Sie sie zuerst zurück.", "error")
    except NotConfigured as exc:
        verb = "fehlt" if len(exc.missing) == 1 else "fehlen"
        flash(f"WhatsApp ist nicht eingerichtet: {' und '.join(exc.missing)} {verb} in den Einstellungen. Es wurde "
              "kein Code gesendet.", "error")
    except GraphError as exc:
        logger.warning("sending a code to tenant %s failed: %s", tenant_id, exc)
        if exc.status == 401 or exc.code == 190:
            flash("WhatsApp hat den Zugangsschlüssel abgelehnt (WHATSAPP_TOKEN prüfen). Es wurde kein Code "
                  "gesendet.", "error")
        else:
            flash(f"WhatsApp hat den Versand abgelehnt (Fehler {exc.code or exc.status}). Es wurde kein Code "
                  "gesendet.", "error")
    except requests.RequestException as exc:
        logger.warning("sending a code to tenant %s failed: %s", tenant_id, type(exc).__name__)
        flash("WhatsApp ist nicht erreichbar (WHATSAPP_API_BASE). Es wurde kein Code gesendet; bitte später "
              "erneut versuchen.", "error")
    return redirect(url_for("support.tenant", tenant_id=tenant_id))


@bp.post("/tenants/<int:tenant_id>/verify")
def tenant_verify(tenant_id: int) -> BaseResponse:
    code = "".join(request.form.get("code", "").split())
    if not code:
        flash("Bitte geben Sie den 6-stelligen Code ein.", "error")
        return redirect(url_for("support.tenant", tenant_id=tenant_id))
    services = get_services()
    result = check_code(services, tenant_id, code, g.staff_email)
    if result.welcome_due:
        enqueue_welcome(services.queue, services.settings, tenant_id)
    enqueue_account_notices(services.queue, services.settings, result.notices)
    if result.bank_changed:
        flash("Code korrekt: Die neue IBAN gilt jetzt. Der Betrieb wird per WhatsApp und E-Mail informiert.", "ok")
    elif result.outcome is VerifyOutcome.WRONG:
        plural = "Versuch" if result.remaining == 1 else "Versuche"
        flash(f"Der Code stimmt nicht. Noch {result.remaining} {plural}.", "error")
    else:
        flash(VERIFY_MESSAGES[result.outcome][1], VERIFY_MESSAGES[result.outcome][0])
    return redirect(url_for("support.tenant", tenant_id=tenant_id))


@bp.post("/tenants/<int:tenant_id>/reset-code")
def tenant_reset_code(tenant_id: int) -> BaseResponse:
    with get_services().db.session() as db:
        reset = reset_locked_challenge(db, g.staff_email, tenant_id)
    flash("Verifizierung zurückgesetzt: Sie können einen neuen Code senden." if reset
          else "Es gibt keine gesperrte Verifizierung.", "ok" if reset else "error")
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


@bp.post("/tenants/<int:tenant_id>/auto-issue")
def tenant_auto_issue(tenant_id: int) -> BaseResponse:
    auto_issue = "auto_issue" in request.form  # an unticked checkbox is not sent
    with get_services().db.session() as db:
        changed = set_auto_issue(db, g.staff_email, tenant_id, auto_issue)
    flash(("Rechnungen werden sofort erstellt, ohne Entwurf." if auto_issue
           else "Der Betrieb bekommt zuerst einen Entwurf.") if changed else "Keine Änderungen.", "ok")
    return redirect(url_for("support.tenant", tenant_id=tenant_id, _anchor="rechnungen"))


@bp.post("/tenants/<int:tenant_id>/prices")
def tenant_save_price(tenant_id: int) -> BaseResponse:
    form = {name: request.form.get(name, "")[:400] for name in PRICE_FIELDS}
    try:
        with get_services().db.session() as db:
            save_tenant_price(db, g.staff_email, tenant_id, form)
        flash("Preis gespeichert.", "ok")
    except PriceListError as exc:
        flash(f"{PRICE_ERRORS.get(exc.field, str(exc))} Es wurde nichts gespeichert.", "error")
    return redirect(url_for("support.tenant", tenant_id=tenant_id, _anchor="preise"))


@bp.post("/tenants/<int:tenant_id>/prices/delete")
def tenant_delete_price(tenant_id: int) -> BaseResponse:
    item_id = request.form.get("item_id", type=int)
    with get_services().db.session() as db:
        db.get_one(Tenant, tenant_id)
        deleted = item_id is not None and delete_tenant_price(db, g.staff_email, tenant_id, item_id)
    flash("Preis gelöscht." if deleted else "Diesen Eintrag gibt es in der Preisliste nicht (mehr).",
          "ok" if deleted else "error")
    return redirect(url_for("support.tenant", tenant_id=tenant_id, _anchor="preise"))


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
