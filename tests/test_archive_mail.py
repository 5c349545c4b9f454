"""After the invoice (issue 14, items 1, 2, 5): the archive copy by e-mail before the content is forgotten, the
invoice to the customer in the tenant's name, and clear answers when mail cannot go. On real processes: webhook ->
RQ worker -> loopback WhatsApp and SMTP servers."""
from __future__ import annotations

import copy
import datetime as dt
import re
import socket
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from facturx import get_xml_from_pdf
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from services import get_services
from store.models import ArchiveState, DeletionReceipt, DeletionTrigger, Invoice
from tests.fakes.smtp import FakeSmtp
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    INVOICE_LINK,
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    Press,
    SendText,
    account_log_in,
    button_messages,
    load_cases,
    text_of,
)
from workers.retention import purge_content

CASE = next(c for c in load_cases() if c["id"] == "waschbecken")
ARCHIVES = ["archiv@elektro-meier.de", "belege@steuerkanzlei-beispiel.de"]
LEITWEG_ID = "04011000-1234512345-06"  # valid check digits (the KoSIT test suite's)


def with_email(case: dict[str, object], email: str) -> dict[str, object]:
    """The sample with the customer's e-mail address said in the voice note."""
    changed = copy.deepcopy(case)
    changed["fields"]["customer"]["email"] = email  # type: ignore[index]
    return changed


def set_archive(app: Flask, tenant_id: int, *addresses: str) -> str:
    args = ["tenant", "edit", str(tenant_id)] + [a for address in addresses for a in ("--archive-email", address)]
    result = app.test_cli_runner().invoke(args=args)
    return result.output if result.exit_code == 0 else f"exit {result.exit_code}: {result.output}"


def closed_port_url() -> str:
    """An SMTP URL nobody listens at: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"smtp://127.0.0.1:{port}"


def the_invoice(app: Flask) -> Invoice:
    with get_services(app).db.session() as session:
        [invoice] = session.scalars(select(Invoice).where(Invoice.number.is_not(None))).all()
        return invoice


def receipts(app: Flask) -> list[DeletionReceipt]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(DeletionReceipt)))


def received(smtp: FakeSmtp) -> list[EmailMessage]:
    """The mails the server took, headers decoded (RFC 2047) as a mail program shows them."""
    return [message_from_bytes(m.as_bytes(), policy=policy.default) for m in smtp.messages]  # type: ignore[misc]


def attachments(mail: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename() or "": part.get_content() for part in mail.iter_attachments()}


def body_of(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def download(client: FlaskClient, reply: str) -> int:
    match = INVOICE_LINK.search(reply)
    assert match, reply
    return client.post(match.group(1)).status_code


def test_the_archive_copy_arrives_before_the_download_deletes_and_the_customer_gets_it_in_the_tenants_name(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, press: Press,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    assert "changed archive_email" in set_archive(app, tenant, *ARCHIVES)
    with FakeSmtp() as smtp:
        get_services(app).settings.smtp_url = smtp.url
        issue_by_voice(with_email(CASE, "thomas.mueller@example.com"))
        [archived] = received(smtp)  # the archive copy went out in the issuing turn's wake, the content still here
        number = the_invoice(app).number or ""
        assert sorted(a for _, a in getaddresses([archived["To"]])) == sorted(ARCHIVES)
        today = dt.date.today().isoformat()
        assert archived["Subject"] == f"Rechnung {number} | {today} | Thomas Müller | 378,42 €"
        files = attachments(archived)
        assert set(files) == {f"Rechnung-{number}.pdf", f"Rechnung-{number}-factur-x.xml"}
        embedded = get_xml_from_pdf(files[f"Rechnung-{number}.pdf"], check_xsd=False)[1]
        assert embedded == files[f"Rechnung-{number}-factur-x.xml"] and b"378.42" in embedded
        assert the_invoice(app).archive_state is ArchiveState.SENT

        [ready] = [m for m in button_messages(whatsapp_fake) if "An Kunden senden" in m.titles]
        assert number in ready.text and "thomas.mueller@example.com" in ready.text
        assert "§ 14b" not in ready.text  # archived: no reminder to keep the PDF
        press("An Kunden senden", ready)
        run_worker()
        customer = received(smtp)[-1]
    assert customer["To"] == "thomas.mueller@example.com"
    assert parseaddr(customer["From"]) == ("Elektro Meier GmbH", "no-reply@sprachrechnung.de")
    assert parseaddr(customer["Reply-To"]) == ("Elektro Meier GmbH", "info@elektro-meier.de")
    assert customer["Subject"] == f"Rechnung {number} von Elektro Meier GmbH"
    assert "anbei erhalten Sie unsere Rechnung" in body_of(customer) and "378,42" in body_of(customer)
    assert list(attachments(customer)) == [f"Rechnung-{number}.pdf"]
    sent = whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]
    assert "an thomas.mueller@example.com gegangen" in sent

    assert download(client, ready.body) == 200
    assert the_invoice(app).deleted_at is not None  # handed off, so the download deleted it
    [receipt] = receipts(app)
    assert receipt.trigger is DeletionTrigger.DOWNLOAD and receipt.archive_handed_off is True
    assert "@" not in str(receipt.categories)


def test_an_unreachable_mail_server_keeps_the_content_until_retention_and_the_tradesperson_hears_it(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, send_text: SendText,
        press: Press, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    set_archive(app, tenant, ARCHIVES[0])
    get_services(app).settings.smtp_url = closed_port_url()
    issue_by_voice(CASE)  # the archive job is tried JOB_RETRIES + 1 times, then gives up
    invoice = the_invoice(app)
    assert invoice.archive_state is ArchiveState.FAILED
    chat = whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))
    ready = next(text for text in chat if text.startswith("✅"))
    assert f"Die Archivkopie der Rechnung {invoice.number} (Thomas Müller) ist nicht" in chat[-1]

    assert download(client, ready) == 200
    assert the_invoice(app).deleted_at is None and receipts(app) == []  # not handed off: the download keeps it

    send_text("kunde@example")  # typed after the invoice, but no address
    run_worker()
    assert "keine gültige E-Mail-Adresse" in whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]
    send_text("thomas.mueller@example.com")
    run_worker()
    offer = button_messages(whatsapp_fake)[-1]
    assert "thomas.mueller@example.com" in offer.text and offer.titles == ["An Kunden senden"]
    press("An Kunden senden", offer)
    run_worker()
    assert "Mailserver war gerade nicht erreichbar" in whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]
    assert the_invoice(app).customer_mailed_at is None

    services = get_services(app)
    purge_content(services, now=invoice.expires_at - dt.timedelta(minutes=1))
    assert the_invoice(app).deleted_at is None
    purge_content(services, now=invoice.expires_at + dt.timedelta(minutes=1))
    assert the_invoice(app).deleted_at is not None
    [receipt] = receipts(app)
    assert receipt.trigger is DeletionTrigger.RETENTION and receipt.archive_handed_off is False
    press("An Kunden senden", offer)  # the content is gone now
    run_worker()
    assert "schon gelöscht" in whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]


def test_archive_addresses_by_page_console_and_cli_the_weekly_reminder_and_a_stornorechnung_in_the_archive(
        app: Flask, console: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, send_text: SendText,
        press: Press, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(with_email(CASE, "thomas.mueller@example.com"))  # no archive address, no SMTP_URL
    first = button_messages(whatsapp_fake)[-1]
    assert "§ 14b UStG" in first.text and first.titles == ["An Kunden senden"]
    press("An Kunden senden", first)
    run_worker()
    assert "E-Mail-Versand ist bei Sprachrechnung nicht eingerichtet" in whatsapp_fake.texts_to(
        TENANT_PHONE.lstrip("+"))[-1]
    send_text("STORNO RE-2026-0001")
    run_worker()
    press("Erstellen")  # the corrected invoice, RE-2026-0003
    run_worker()
    again = button_messages(whatsapp_fake)[-1]
    assert "RE-2026-0003" in again.text and "§ 14b" not in again.text  # reminded once this week already

    account = app.test_client()
    token = account_log_in(app, account, tenant)
    refused = account.post("/konto/archiv", data={"csrf_token": token, "addresses": "archiv@elektro-meier.de\nbelege@"})
    assert refused.status_code == 422 and "keine gültige E-Mail-Adresse" in text_of(refused)
    saved = account.post("/konto/archiv", data={"csrf_token": token, "addresses": "\n".join(ARCHIVES)},
                         follow_redirects=True)
    assert "Archiv-Adressen gespeichert" in text_of(saved) and ARCHIVES[1] in text_of(saved)
    assert "exit 2" in set_archive(app, tenant, "kein-mail")  # nothing changed
    page = text_of(console.get(f"/support/tenants/{tenant}/archive"))
    assert ARCHIVES[0] in page and ARCHIVES[1] in page and "keine (keine Archiv-Adresse)" in page

    with FakeSmtp() as smtp:
        get_services(app).settings.smtp_url = smtp.url
        send_text("STORNO RE-2026-0003")
        run_worker()
        [archived] = received(smtp)
    today = dt.date.today().isoformat()
    assert archived["Subject"] == f"Stornorechnung RE-2026-0004 | {today} | Thomas Müller | -378,42 €"
    assert set(attachments(archived)) == {"Stornorechnung-RE-2026-0004.pdf",
                                          "Stornorechnung-RE-2026-0004-factur-x.xml"}
    history = text_of(account.get("/konto/archiv"))
    assert re.search(r"RE-2026-0004.*?an das Archiv gegangen am", history, re.S)
    assert re.search(r"RE-2026-0001.*?keine Archivkopie", history, re.S)


def test_an_english_tenant_sends_a_public_sector_customer_the_pdf_and_the_xrechnung(
        app: Flask, add_tenant: AddTenant, issue_by_voice: IssueByVoice, press: Press,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    tenant_id = add_tenant(language="en")
    assert "changed" in app.test_cli_runner().invoke(
        args=["tenant", "edit", str(tenant_id), "--business-phone", "030 555 0190"]).output  # XRechnung needs it
    english = next(c for c in load_cases() if c["id"] == "english")
    customer = {"name": "Bezirksamt Mitte", "company": "Land Berlin", "street": "Karl-Marx-Allee 31",
                "postal_code": "10178", "city": "Berlin", "is_business": True, "leitweg_id": LEITWEG_ID,
                "email": "rechnungen@ba-mitte.example"}
    with FakeSmtp() as smtp:
        get_services(app).settings.smtp_url = smtp.url
        issue_by_voice({**english, "fields": {**english["fields"], "customer": customer}})
        [ready] = [m for m in button_messages(whatsapp_fake) if "Send to customer" in m.titles]
        assert "§ 14b" in ready.text or "§14b" in ready.text  # no archive address: keep the PDF yourself
        press("Send to customer", ready)
        run_worker()
        [mail] = received(smtp)
    number = the_invoice(app).number or ""
    assert mail["To"] == "rechnungen@ba-mitte.example"
    assert mail["Subject"] == f"Invoice {number} from Elektro Meier GmbH"
    assert "please find attached our invoice" in body_of(mail) and "(with XRechnung)" in body_of(mail)
    files = attachments(mail)
    assert list(files) == [f"Rechnung-{number}.pdf", f"Rechnung-{number}-XRechnung.xml"]
    xrechnung = files[f"Rechnung-{number}-XRechnung.xml"]
    assert f"<ram:BuyerReference>{LEITWEG_ID}</ram:BuyerReference>".encode() in xrechnung
    assert "was e-mailed to rechnungen@ba-mitte.example" in whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]
