"""The support console (/support) through the Flask test client: access, login, CSRF, tenants, codes."""
from __future__ import annotations

import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pyotp
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from services import get_services
from store.models import AuditEntry, utcnow
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    NEW_TENANT,
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    SendText,
    Staff,
    load_cases,
    load_tenant,
    logged_in,
    phone_of,
    read_csrf,
    sent_code,
    staff_log_in,
    submit,
    tenant_count,
    text_of,
)


def audit_actions(app: Flask) -> list[tuple[str, str]]:
    with get_services(app).db.session() as session:
        return [(e.actor, e.action) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- access and login ---------------------------------------------------------------------------

def test_every_support_route_refuses_anonymous_users(app: Flask, client: FlaskClient, unverified: int,
                                                     whatsapp_fake: FakeWhatsApp) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("support.")
             and r.endpoint not in ("support.login", "support.login_post")]
    assert len(rules) >= 12
    login_token = read_csrf(client.get("/support/login"))  # even a valid form token does not help
    for rule in rules:
        with app.test_request_context():
            url = url_for(rule.endpoint, tenant_id=unverified) if "tenant_id" in rule.arguments \
                else url_for(rule.endpoint)
        if "GET" in (rule.methods or ()):
            response = client.get(url)
            assert response.status_code == 302 and response.location.endswith("/support/login"), url
        if "POST" in (rule.methods or ()):
            data = {"csrf_token": login_token, "code": "123456", "phone": "+4917699999999", "company": "X"}
            assert client.post(url, data=data).status_code == 403, url
            assert client.post(url).status_code == 403, url
    tenant = load_tenant(app, unverified)
    assert tenant.active and not tenant.verified and tenant.company == "Elektro Meier GmbH"
    assert whatsapp_fake.sent == [] and [a for a in audit_actions(app) if a[0] != "cli"] == []


def test_password_right_but_totp_wrong_gives_no_session(client: FlaskClient, staff: Staff) -> None:
    old_code = str(pyotp.TOTP(staff.secret).at(time.time() - 3600))
    response = staff_log_in(client, staff, code=old_code)
    assert response.status_code == 401 and "Passwort oder Code ist falsch" in text_of(response)
    assert not logged_in(client)
    response = staff_log_in(client, staff, password="falsches-Passwort-123")  # right code, wrong password
    assert response.status_code == 401 and not logged_in(client)
    assert staff_log_in(client, staff).status_code == 302 and logged_in(client)  # the code was not used up


def test_replayed_totp_code_is_refused(client: FlaskClient, staff: Staff) -> None:
    code = staff.code()
    assert staff_log_in(client, staff, code=code).status_code == 302
    submit(client, "/support/logout", "/support/tenants")
    assert not logged_in(client)
    response = staff_log_in(client, staff, code=code)
    assert response.status_code == 401 and not logged_in(client)
    assert staff_log_in(client, staff, code=staff.code(steps_ahead=1)).status_code == 302


def test_support_pages_send_security_headers(console: FlaskClient) -> None:
    for url in ("/support/login", "/support/tenants", "/support/audit"):
        headers = console.get(url).headers
        assert headers["Cache-Control"] == "no-store" and headers["X-Frame-Options"] == "DENY"
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


def test_post_without_or_with_wrong_form_token_changes_nothing(app: Flask, console: FlaskClient,
                                                               tenant: int) -> None:
    url = f"/support/tenants/{tenant}/disable"
    assert console.post(url).status_code == 400
    assert console.post(url, data={"csrf_token": "forged"}).status_code == 400
    assert load_tenant(app, tenant).active
    response = submit(console, url, f"/support/tenants/{tenant}")
    assert "Nummer gesperrt" in text_of(response) and not load_tenant(app, tenant).active
    assert audit_actions(app)[-1] == ("anna@support.example", "tenant_disabled")


# --- tenants ------------------------------------------------------------------------------------

def test_create_tenant_refuses_invalid_and_taken_numbers(app: Flask, console: FlaskClient,
                                                         add_tenant: AddTenant) -> None:
    response = submit(console, "/support/tenants/new", "/support/tenants/new", **{**NEW_TENANT, "phone": "01234"})
    assert response.status_code == 422 and "keine gültige Telefonnummer" in text_of(response)
    assert "Malerbetrieb Schulz" in text_of(response)  # what was typed is kept
    assert tenant_count(app) == 0
    add_tenant(phone="+4917698765432")
    response = submit(console, "/support/tenants/new", "/support/tenants/new", **NEW_TENANT)
    assert response.status_code == 422 and "gehört bereits zu einem anderen Betrieb" in text_of(response)
    response = submit(console, "/support/tenants/new", "/support/tenants/new",
                      **{**NEW_TENANT, "phone": "+4915112345678", "tax_number": "", "iban": "kein IBAN"})
    page = text_of(response)
    assert "Steuernummer oder USt-IdNr." in page and "keine gültige IBAN" in page
    assert tenant_count(app) == 1 and ("anna@support.example", "tenant_created") not in audit_actions(app)


def test_create_tenant_then_edit_it(app: Flask, console: FlaskClient) -> None:
    response = submit(console, "/support/tenants/new", "/support/tenants/new", **NEW_TENANT)
    page = text_of(response)
    assert "Betrieb angelegt" in page and "nicht verifiziert" in page and "+4917698765432" in page
    tenant_id = int(response.request.path.rsplit("/", 1)[1])
    assert load_tenant(app, tenant_id).iban == "DE89370400440532013000"
    edit = f"/support/tenants/{tenant_id}/edit"
    response = submit(console, edit, edit, **{**NEW_TENANT, "hourly_rate": "62", "email": "kein-mail"})
    assert response.status_code == 422 and "keine gültige E-Mail-Adresse" in text_of(response)
    response = submit(console, edit, edit, **{**NEW_TENANT, "hourly_rate": "62"})
    assert "Änderungen gespeichert" in text_of(response) and "62,00 €" in text_of(response)
    listing = text_of(console.get("/support/tenants"))
    assert "Malerbetrieb Schulz" in listing and "nicht verifiziert" in listing
    assert [a for _, a in audit_actions(app)][-2:] == ["tenant_created", "tenant_updated"]
    response = console.get("/support/tenants/999")
    assert response.status_code == 404 and "Diesen Betrieb gibt es nicht" in text_of(response)


def test_send_code_and_enter_it_verifies_the_number(app: Flask, console: FlaskClient, unverified: int,
                                                     whatsapp_fake: FakeWhatsApp, run_worker: Callable[[], None]
                                                     ) -> None:
    page = f"/support/tenants/{unverified}"
    response = submit(console, f"{page}/send-code", page)
    assert "Code gesendet" in text_of(response) and "0 von 5 Fehlversuchen" in text_of(response)
    code = sent_code(whatsapp_fake, TENANT_PHONE)
    assert len(code) == 6 and code.isdigit()
    response = submit(console, f"{page}/verify", page, code=f"{code[:3]} {code[3:]}")
    assert "Die Nummer ist jetzt verifiziert" in text_of(response)
    assert 'data-status="verified">verifiziert' in text_of(response) and load_tenant(app, unverified).verified
    assert audit_actions(app)[-2:] == [("anna@support.example", "code_sent"),
                                       ("anna@support.example", "code_entered")]
    audit = text_of(console.get("/support/audit"))
    assert "Code eingegeben" in audit and "Ergebnis: verifiziert" in audit and "anna@support.example" in audit
    run_worker()
    assert "automatisiertes KI-System" in whatsapp_fake.texts_to(TENANT_PHONE)[-1]  # the welcome follows


def test_wrong_code_shows_remaining_attempts_and_lock(app: Flask, console: FlaskClient, unverified: int,
                                                      whatsapp_fake: FakeWhatsApp) -> None:
    page = f"/support/tenants/{unverified}"
    submit(console, f"{page}/send-code", page)
    wrong = "000000" if sent_code(whatsapp_fake, TENANT_PHONE) != "000000" else "111111"
    for remaining in (4, 3, 2, 1):
        response = submit(console, f"{page}/verify", page, code=wrong)
        assert f"Noch {remaining} {'Versuch' if remaining == 1 else 'Versuche'}." in text_of(response)
    response = submit(console, f"{page}/verify", page, code=wrong)
    assert "Zu viele falsche Codes" in text_of(response)
    response = submit(console, f"{page}/send-code", page)
    assert "gesperrt" in text_of(response) and len(whatsapp_fake.sent) == 1
    response = submit(console, f"{page}/reset-code", page)
    assert "zurückgesetzt" in text_of(response)
    response = submit(console, f"{page}/send-code", page)
    assert "Code gesendet" in text_of(response) and len(whatsapp_fake.sent) == 2
    assert not load_tenant(app, unverified).verified


def test_send_limit_and_whatsapp_errors_are_explained(console: FlaskClient, unverified: int,
                                                      whatsapp_fake: FakeWhatsApp) -> None:
    page = f"/support/tenants/{unverified}"
    whatsapp_fake.fail_next(1, 400, {"error": {"message": "(#132001) Template name does not exist",
                                               "type": "OAuthException", "code": 132001}}, path_contains="/messages")
    response = submit(console, f"{page}/send-code", page)
    assert "WhatsApp hat den Versand abgelehnt (Fehler 132001)" in text_of(response)
    assert "gültig bis" not in text_of(response)  # no code is open
    for _ in range(3):
        submit(console, f"{page}/send-code", page)
    response = submit(console, f"{page}/send-code", page)
    assert "Höchstens 3 Codes pro Stunde" in text_of(response) and len(whatsapp_fake.sent) == 3


def test_code_to_a_new_number_switches_it_after_verification(app: Flask, console: FlaskClient, tenant: int,
                                                              add_tenant: AddTenant,
                                                              whatsapp_fake: FakeWhatsApp) -> None:
    add_tenant(phone="+4915112345678", company="Andere GmbH")
    page = f"/support/tenants/{tenant}"
    response = submit(console, f"{page}/send-code", page, phone="+4915112345678")
    assert "gehört bereits zu einem anderen Betrieb" in text_of(response) and whatsapp_fake.sent == []
    response = submit(console, f"{page}/send-code", page, phone="0171 2345678")
    assert "an +491712345678" in text_of(response)
    submit(console, f"{page}/verify", page, code=sent_code(whatsapp_fake, "+491712345678"))
    assert phone_of(app, tenant) == "+491712345678"


def test_messages_screen_shows_metadata_never_content(
        app: Flask, console: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        send_text: SendText, run_worker: Callable[[], None]) -> None:
    case = load_cases()[0]
    issue_by_voice(case)
    send_text("Bitte noch Erika Mustermann in der Gartenstraße 7 eine Rechnung schicken")  # not yet processed
    page = text_of(console.get(f"/support/tenants/{tenant}/messages"))
    assert "Sprachnachricht" in page and "Entwurf gezeigt" in page  # the voice note made the draft
    assert "Knopfdruck" in page and "Rechnung erstellt" in page  # "Erstellen" made the invoice
    assert "empfangen" in page
    customer = case["fields"]["customer"]
    for content in (customer["name"], customer["street"], case["fields"]["job_title"], "Mustermann",
                    "Gartenstraße", case["transcript"][:30], "/d/", ".pdf"):
        assert content not in page
    listing = text_of(console.get("/support/tenants"))
    assert utcnow().astimezone(ZoneInfo("Europe/Berlin")).strftime("%d.%m.%Y") in listing  # last activity: today
    run_worker()  # processed (the model finds no job in it), the text is still only metadata
    page = text_of(console.get(f"/support/tenants/{tenant}/messages"))
    assert "nichts Abrechenbares" in page and "empfangen" not in page
    assert "Mustermann" not in page and "Gartenstraße" not in page
