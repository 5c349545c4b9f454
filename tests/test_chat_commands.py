"""The KONTO/ACCOUNT chat command: a login link in the chat, or by e-mail when SMTP is configured."""
from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from services import get_services
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.smtp import FakeSmtp
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import TENANT_PHONE, SendText

LOGIN = re.compile(r"https://rechnung\.example(/konto/login/[A-Za-z0-9_-]+)")


def test_konto_sends_a_login_link_that_opens_the_account(
        app: Flask, client: FlaskClient, tenant: int, send_text: SendText,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    send_text("Konto")
    run_worker()
    [reply] = whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))
    path = LOGIN.search(reply)
    assert path, reply
    assert client.get(path.group(1)).status_code == 200


def test_account_link_goes_by_mail_when_smtp_is_configured(
        app: Flask, tenant: int, send_text: SendText, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    with FakeSmtp() as smtp:
        get_services(app).settings.smtp_url = smtp.url
        send_text("ACCOUNT")
        run_worker()
    [mail] = smtp.messages
    assert mail["To"] == "info@elektro-meier.de"
    assert LOGIN.search(mail.get_payload(decode=True).decode())  # type: ignore[union-attr]
    [reply] = whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))
    assert "E-Mail" in reply and "info@elektro-meier.de" in reply and "/konto/login/" not in reply


def test_a_short_unknown_text_gets_the_help_without_asking_the_model(
        app: Flask, tenant: int, send_text: SendText, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic) -> None:
    send_text("Hallo, wie geht's?")  # too short for a job, and no draft is open
    run_worker()
    [reply] = whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))
    assert reply.startswith("Ich mache aus deiner Sprachnachricht (oder Textnachricht) eine Rechnung.")
    assert "KONTO" in reply
    assert anthropic_fake.calls == []
