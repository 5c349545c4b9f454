"""Support console: verification codes (send, check, reset a lock) and the code that confirms a new IBAN.

Registers its routes on handlers.support.bp.
"""
from __future__ import annotations

import logging

import requests
from flask import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from accounts.account import HeldBankChange
from accounts.banking import mask_iban
from accounts.console import (
    reset_locked_challenge,
)
from accounts.onboarding import check_code, request_bank_change, send_code
from accounts.otp import (
    ChallengeLocked,
    SendLimitReached,
    VerifyOutcome,
)
from accounts.tenants import InvalidPhone, PhoneTaken, check_new_number
from handlers.support import bp, local_time
from services import get_services
from store.models import Tenant
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
