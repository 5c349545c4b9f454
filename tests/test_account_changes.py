"""Changes that could hijack an account or its money: a new WhatsApp number and a new IBAN are told to the old
number and the e-mail address, an IBAN changes only with a code sent to the verified number, and the code lock
and send limits hold across numbers."""
from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from email.message import Message

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import select

from accounts.onboarding import send_code
from accounts.otp import ChallengeLocked, SendLimitReached
from services import get_services
from store.models import AccountNotice, AuditEntry, OtpChallenge, OtpSend
from tests.fakes.smtp import FakeSmtp
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    INVOICE_LINK,
    PROFILE,
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    SendText,
    account_log_in,
    load_cases,
    load_tenant,
    phone_of,
    submit,
    text_of,
)

CASES = [c for c in load_cases() if c["expected"] and c["language"] == "de"]
OLD_IBAN = "DE89370400440532013000"
NEW_IBAN = "DE02120300000000202051"
NEW_PHONE = "+4917698765432"
THIRD_PHONE = "+4915112345678"
FOURTH_PHONE = "+4916012345678"
NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


@pytest.fixture
def smtp(app: Flask) -> Iterator[FakeSmtp]:
    with FakeSmtp() as fake:
        get_services(app).settings.smtp_url = fake.url
        yield fake


def templates_to(whatsapp_fake: FakeWhatsApp, phone: str) -> list[str]:
    """The codes of the authentication templates sent to `phone`, oldest first."""
    return [str(m["template"]["components"][0]["parameters"][0]["text"]) for m in whatsapp_fake.sent
            if m.get("type") == "template" and m["to"] == phone.lstrip("+")]


def body_of(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def wrong_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def invoiced_iban(client: FlaskClient, whatsapp_fake: FakeWhatsApp) -> str:
    """The IBAN in the EN 16931 XML of the newest invoice link sent to the tenant."""
    link = INVOICE_LINK.search(whatsapp_fake.texts_to(TENANT_PHONE)[-1])
    assert link, whatsapp_fake.texts_to(TENANT_PHONE)[-1]
    reader = PdfReader(io.BytesIO(client.post(link.group(1)).data))
    [xml] = reader.attachments["factur-x.xml"]
    return str(etree.fromstring(xml).xpath("//ram:IBANID/text()", namespaces=NS)[0])


def audit_actions(app: Flask, tenant_id: int) -> list[tuple[str, str]]:
    with get_services(app).db.session() as session:
        return [(e.actor, e.action) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.id))]


# --- a new WhatsApp number ------------------------------------------------------------------------
@pytest.mark.parametrize(("language", "words", "subject"), [
    ("de", ("Sicherheitshinweis", "WhatsApp-Nummer", "geändert"), "Sicherheitshinweis"),
    ("en", ("Security notice", "WhatsApp number", "changed"), "Security notice"),
])
def test_a_number_change_is_told_to_the_old_number_and_the_mail_address(
        app: Flask, client: FlaskClient, add_tenant: AddTenant, whatsapp_fake: FakeWhatsApp, smtp: FakeSmtp,
        run_worker: Callable[[], None], language: str, words: tuple[str, ...], subject: str) -> None:
    tenant = add_tenant(language=language)
    token = account_log_in(app, client, tenant)
    client.post("/konto/nummer", data={"phone": NEW_PHONE, "csrf_token": token})
    [code] = templates_to(whatsapp_fake, NEW_PHONE)
    assert client.post("/konto/nummer/code", data={"code": code, "csrf_token": token}).status_code == 303
    assert phone_of(app, tenant) == NEW_PHONE
    run_worker()

    [notice] = whatsapp_fake.texts_to(TENANT_PHONE)  # the old number, which no longer reaches the account
    assert all(word in notice for word in words), notice
    assert NEW_PHONE.lstrip("+")[-8:] not in notice  # the new number is not given away
    [mail] = smtp.messages
    assert mail["To"] == "info@elektro-meier.de" and subject in mail["Subject"]
    assert all(word in body_of(mail) for word in words)
    assert not any(words[0] in text for text in whatsapp_fake.texts_to(NEW_PHONE))


def test_a_number_change_without_smtp_is_told_to_the_old_number_only(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp,
        run_worker: Callable[[], None]) -> None:
    token = account_log_in(app, client, tenant)
    client.post("/konto/nummer", data={"phone": NEW_PHONE, "csrf_token": token})
    client.post("/konto/nummer/code", data={"code": templates_to(whatsapp_fake, NEW_PHONE)[0], "csrf_token": token})
    run_worker()
    [notice] = whatsapp_fake.texts_to(TENANT_PHONE)
    assert "Sicherheitshinweis" in notice


# --- a new IBAN -----------------------------------------------------------------------------------
def test_an_iban_change_on_the_account_page_waits_for_the_code_sent_to_the_verified_number(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp, smtp: FakeSmtp,
        issue_by_voice: IssueByVoice, run_worker: Callable[[], None]) -> None:
    token = account_log_in(app, client, tenant)
    form = {**PROFILE, "email": "info@elektro-meier.de", "iban": "DE02 1203 0000 0000 2020 51", "bic": "",
            "csrf_token": token}
    page = text_of(client.post("/konto/profil", data=form, follow_redirects=True))
    assert "Die neue IBAN gilt erst" in page and "DE02120300000000202051" in page
    saved = load_tenant(app, tenant)
    assert (saved.company, saved.iban, saved.bic) == ("Elektro Meier & Sohn GmbH", OLD_IBAN, None)  # the rest is saved
    [code] = templates_to(whatsapp_fake, TENANT_PHONE)  # the code goes to the verified number
    run_worker()
    [requested] = whatsapp_fake.texts_to(TENANT_PHONE)
    assert "Sicherheitshinweis" in requested and "DE02 … 2051" in requested and "IBAN" in requested
    [mail] = smtp.messages
    assert mail["To"] == "info@elektro-meier.de" and "DE02 … 2051" in body_of(mail)

    issue_by_voice(CASES[0])  # an invoice issued while the change waits names the old account
    assert invoiced_iban(client, whatsapp_fake) == OLD_IBAN

    wrong = client.post("/konto/iban/code", data={"code": wrong_code(code), "csrf_token": token})
    assert wrong.status_code == 422 and "noch 4 Versuche" in text_of(wrong)
    assert load_tenant(app, tenant).iban == OLD_IBAN
    right = client.post("/konto/iban/code", data={"code": code, "csrf_token": token}, follow_redirects=True)
    assert "Deine neue IBAN gilt ab jetzt" in text_of(right)
    assert (load_tenant(app, tenant).iban, load_tenant(app, tenant).bic) == (NEW_IBAN, None)
    run_worker()
    changed = whatsapp_fake.texts_to(TENANT_PHONE)[-1]
    assert "Sicherheitshinweis" in changed and "DE02 … 2051" in changed
    assert len(smtp.messages) == 2 and "DE02 … 2051" in body_of(smtp.messages[-1])

    issue_by_voice(CASES[1])
    assert invoiced_iban(client, whatsapp_fake) == NEW_IBAN
    assert [a for a in audit_actions(app, tenant) if a[1].startswith("bank")] == [
        ("tenant", "bank_change_requested"), ("tenant", "bank_changed")]


def test_the_notice_of_an_iban_change_goes_to_the_address_before_the_same_form_changed_it(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp, smtp: FakeSmtp,
        run_worker: Callable[[], None]) -> None:
    token = account_log_in(app, client, tenant)
    client.post("/konto/profil", data={**PROFILE, "email": "mallory@example.org", "iban": NEW_IBAN, "bic": "",
                                       "csrf_token": token})
    run_worker()
    assert [mail["To"] for mail in smtp.messages] == ["info@elektro-meier.de"]
    assert load_tenant(app, tenant).iban == OLD_IBAN


def test_an_iban_change_in_the_console_waits_for_the_code_typed_into_the_chat(
        app: Flask, console: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp, smtp: FakeSmtp,
        send_text: SendText, run_worker: Callable[[], None]) -> None:
    page, edit = f"/support/tenants/{tenant}", f"/support/tenants/{tenant}/edit"
    response = submit(console, edit, edit, iban=NEW_IBAN, bic="")
    assert "Die neue IBAN gilt erst" in text_of(response) and "DE02 … 2051" in text_of(response)
    assert load_tenant(app, tenant).iban == OLD_IBAN
    [code] = templates_to(whatsapp_fake, TENANT_PHONE)
    run_worker()
    assert "DE02 … 2051" in whatsapp_fake.texts_to(TENANT_PHONE)[-1] and len(smtp.messages) == 1

    send_text(f"{code[:3]} {code[3:]}")  # the tradesperson types it into the chat
    run_worker()
    assert load_tenant(app, tenant).iban == NEW_IBAN
    assert "DE02 … 2051" in whatsapp_fake.texts_to(TENANT_PHONE)[-1] and len(smtp.messages) == 2
    assert "Die neue IBAN gilt erst" not in text_of(console.get(page))
    assert [a for a in audit_actions(app, tenant) if a[1].startswith("bank")] == [
        ("anna@support.example", "bank_change_requested"), ("tenant", "bank_changed")]


def test_an_iban_change_entered_by_support_needs_the_code_the_tradesperson_reads_out(
        app: Flask, console: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp) -> None:
    page, edit = f"/support/tenants/{tenant}", f"/support/tenants/{tenant}/edit"
    submit(console, edit, edit, iban=NEW_IBAN, bic="")
    [code] = templates_to(whatsapp_fake, TENANT_PHONE)
    response = submit(console, f"{page}/verify", page, code=wrong_code(code))
    assert "Noch 4 Versuche" in text_of(response) and load_tenant(app, tenant).iban == OLD_IBAN
    response = submit(console, f"{page}/verify", page, code=code)
    assert "Die neue IBAN gilt jetzt" in text_of(response) and load_tenant(app, tenant).iban == NEW_IBAN


def test_an_unverified_tenant_gets_its_iban_corrected_at_once(
        app: Flask, console: FlaskClient, unverified: int, whatsapp_fake: FakeWhatsApp) -> None:
    edit = f"/support/tenants/{unverified}/edit"
    assert "Änderungen gespeichert" in text_of(submit(console, edit, edit, iban=NEW_IBAN, bic=""))
    assert load_tenant(app, unverified).iban == NEW_IBAN and whatsapp_fake.sent == []


def test_the_cli_holds_an_iban_change_for_the_code_too(app: Flask, tenant: int, whatsapp_fake: FakeWhatsApp) -> None:
    result = app.test_cli_runner().invoke(args=["tenant", "edit", str(tenant), "--iban", NEW_IBAN, "--city", "Bonn"])
    assert result.exit_code == 0 and "tenant verify" in result.output, result.output
    assert (load_tenant(app, tenant).city, load_tenant(app, tenant).iban) == ("Bonn", OLD_IBAN)
    [code] = templates_to(whatsapp_fake, TENANT_PHONE)
    result = app.test_cli_runner().invoke(args=["tenant", "verify", str(tenant), "--code", code])
    assert result.exit_code == 0 and load_tenant(app, tenant).iban == NEW_IBAN


# --- the code lock and the send limits ------------------------------------------------------------
def test_the_code_lock_is_not_reset_by_asking_codes_for_another_number(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp) -> None:
    token = account_log_in(app, client, tenant)
    client.post("/konto/nummer", data={"phone": NEW_PHONE, "csrf_token": token})
    [code] = templates_to(whatsapp_fake, NEW_PHONE)
    for _ in range(2):
        client.post("/konto/nummer/code", data={"code": wrong_code(code), "csrf_token": token})
    client.post("/konto/nummer", data={"phone": THIRD_PHONE, "csrf_token": token})  # the failures go along
    [third] = templates_to(whatsapp_fake, THIRD_PHONE)
    page = client.post("/konto/nummer/code", data={"code": wrong_code(third), "csrf_token": token})
    assert "noch 2 Versuche" in text_of(page)
    for _ in range(2):
        client.post("/konto/nummer/code", data={"code": wrong_code(third), "csrf_token": token})

    for phone in (FOURTH_PHONE, NEW_PHONE, THIRD_PHONE):  # locked, whichever number is asked for
        refused = client.post("/konto/nummer", data={"phone": phone, "csrf_token": token})
        assert refused.status_code == 422 and "Zu viele falsche Codes" in text_of(refused)
    with pytest.raises(ChallengeLocked):
        send_code(get_services(app), tenant, actor="cli")  # nor for the tenant's own number
    assert templates_to(whatsapp_fake, FOURTH_PHONE) == [] and len(templates_to(whatsapp_fake, NEW_PHONE)) == 1
    right = client.post("/konto/nummer/code", data={"code": third, "csrf_token": token})
    assert "Zu viele falsche Codes" in text_of(right) and phone_of(app, tenant) == TENANT_PHONE


def test_an_iban_change_does_not_reset_the_lock_either(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp) -> None:
    token = account_log_in(app, client, tenant)
    client.post("/konto/nummer", data={"phone": NEW_PHONE, "csrf_token": token})
    [code] = templates_to(whatsapp_fake, NEW_PHONE)
    for _ in range(5):
        client.post("/konto/nummer/code", data={"code": wrong_code(code), "csrf_token": token})
    response = client.post("/konto/profil", data={**PROFILE, "iban": NEW_IBAN, "bic": "", "csrf_token": token})
    assert response.status_code == 422 and "Zu viele falsche Codes" in text_of(response)
    assert templates_to(whatsapp_fake, TENANT_PHONE) == [] and load_tenant(app, tenant).iban == OLD_IBAN
    assert load_tenant(app, tenant).company == PROFILE["company"]  # the rest of the form is saved


def test_support_can_still_lift_the_lock(app: Flask, console: FlaskClient, tenant: int,
                                         whatsapp_fake: FakeWhatsApp) -> None:
    services = get_services(app)
    send_code(services, tenant, actor="cli", phone=NEW_PHONE)
    with services.db.session() as session:
        session.scalars(select(OtpChallenge)).one().failures = 5
    page = f"/support/tenants/{tenant}"
    assert "zurückgesetzt" in text_of(submit(console, f"{page}/reset-code", page))
    send_code(services, tenant, actor="cli", phone=THIRD_PHONE)
    assert len(templates_to(whatsapp_fake, THIRD_PHONE)) == 1


def test_codes_are_limited_per_tenant_as_well_as_per_number(
        app: Flask, tenant: int, whatsapp_fake: FakeWhatsApp) -> None:
    services = get_services(app)
    for phone in (NEW_PHONE, NEW_PHONE, NEW_PHONE, THIRD_PHONE, THIRD_PHONE):
        send_code(services, tenant, actor="cli", phone=phone)
    with pytest.raises(SendLimitReached) as limited:
        send_code(services, tenant, actor="cli", phone=FOURTH_PHONE)  # a fresh number, but the sixth code
    assert "per tenant" in str(limited.value)
    assert templates_to(whatsapp_fake, FOURTH_PHONE) == []
    assert len([m for m in whatsapp_fake.sent if m.get("type") == "template"]) == 5


def test_the_account_page_explains_the_tenant_limit(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp) -> None:
    token = account_log_in(app, client, tenant)
    for phone in (NEW_PHONE, NEW_PHONE, NEW_PHONE, THIRD_PHONE, THIRD_PHONE):
        assert client.post("/konto/nummer", data={"phone": phone, "csrf_token": token}).status_code == 303
    limited = client.post("/konto/nummer", data={"phone": FOURTH_PHONE, "csrf_token": token})
    assert limited.status_code == 429 and "zu viele Codes" in text_of(limited)


def test_offboarding_removes_the_notices_and_code_sends_of_the_tenant(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp) -> None:
    token = account_log_in(app, client, tenant)
    client.post("/konto/profil", data={**PROFILE, "iban": NEW_IBAN, "bic": "", "csrf_token": token})
    client.post("/konto/nummer", data={"phone": NEW_PHONE, "csrf_token": token})
    with get_services(app).db.session() as session:
        assert session.scalars(select(AccountNotice)).all() and session.scalars(select(OtpSend)).all()
    result = app.test_cli_runner().invoke(args=["tenant", "offboard", str(tenant), "--confirm", str(tenant)])
    assert result.exit_code == 0, result.output
    with get_services(app).db.session() as session:
        assert session.scalars(select(AccountNotice)).all() == [] and session.scalars(select(OtpSend)).all() == []
