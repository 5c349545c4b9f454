"""End to end: signed voice note -> real RQ worker -> reply link -> download page -> PDF -> content gone."""
from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from services import get_services
from store.models import (
    DataKey,
    DeletionReceipt,
    DeletionTrigger,
    InboundMessage,
    InboundState,
    Invoice,
    InvoiceState,
    MagicLink,
    SealedContent,
)
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import INVOICE_LINK, TENANT_PHONE, AddTenant, Press, SendVoiceNote, button_messages, load_cases

INVOICE_CASES = [c for c in load_cases() if c["expected"]]


def money(value: str, language: str) -> str:
    """'1234.5' as the PDF prints it: German 1.234,50, English 1,234.50."""
    amount = f"{Decimal(value):,.2f}"
    return amount.replace(",", "X").replace(".", ",").replace("X", ".") if language == "de" else amount


def texts(whatsapp_fake: FakeWhatsApp) -> list[str]:
    return whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))


def count(app: Flask, model: Any) -> int:
    with get_services(app).db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("case", INVOICE_CASES, ids=[c["id"] for c in INVOICE_CASES])
def test_voice_note_becomes_a_downloadable_invoice_and_then_disappears(
        app: Flask, client: FlaskClient, add_tenant: AddTenant, send_voice_note: SendVoiceNote,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI,
        anthropic_fake: FakeAnthropic, press: Press, case: dict[str, Any]) -> None:
    language = case["language"]
    add_tenant(language=language)
    message_id = send_voice_note(case)
    run_worker()
    [draft] = button_messages(whatsapp_fake)  # a draft first: no number is taken yet
    assert money(case["expected"]["gross"], language) in draft.body
    assert count(app, Invoice) == 1 and not texts(whatsapp_fake)
    press("Erstellen" if language == "de" else "Create")
    run_worker()

    # the bot marked the message read with a typing indicator, fetched the audio, asked both models
    assert whatsapp_fake.read_receipts[0]["message_id"] == message_id
    assert whatsapp_fake.read_receipts[0]["typing_indicator"] == {"type": "text"}
    assert whatsapp_fake.media_downloads == [f"media-{case['id']}"]
    assert openai_fake.transcriptions[0]["language"] == language
    assert case["transcript"] in str(anthropic_fake.calls[0]["messages"])

    [reply] = texts(whatsapp_fake)
    customer = case["fields"]["customer"]["name"]
    expected = case["expected"]
    assert customer in reply
    assert money(expected["gross"], language) in reply
    path = INVOICE_LINK.search(reply)
    assert path, reply

    page = client.get(path.group(1))
    assert page.status_code == 200
    assert b"<form method=\"post\">" in page.data
    assert client.get(path.group(1)).status_code == 200  # a preview crawler's GET changes nothing

    download = client.post(path.group(1))
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(download.data)).pages)
    with get_services(app).db.session() as session:
        invoice = session.scalars(select(Invoice)).one()
        number = invoice.number
    assert number in text
    assert customer in text
    for key in ("net", "vat", "gross"):
        assert money(expected[key], language) in text, key
    if not case["fields"]["customer"]["is_business"]:
        assert money(expected["labour_net"], language) in text
        assert money(expected["labour_gross"], language) in text

    # downloaded: the content, its key and the link are gone, a receipt proves it
    assert count(app, SealedContent) == 0
    assert count(app, DataKey) == 0
    with get_services(app).db.session() as session:
        assert all(link.used_at for link in session.scalars(select(MagicLink)))  # spent, not reusable
    with get_services(app).db.session() as session:
        invoice = session.scalars(select(Invoice)).one()
        assert invoice.state is InvoiceState.DELETED
        receipt = session.scalars(select(DeletionReceipt)).one()
        assert receipt.trigger is DeletionTrigger.DOWNLOAD
        assert receipt.categories["pdf"] == 1 and receipt.categories["transcript"] == 1
    again = client.post(path.group(1))
    assert again.status_code == 410
    assert client.get(path.group(1)).status_code == 410


def test_voice_note_without_a_job_gets_a_friendly_reply_and_no_invoice(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    case = next(c for c in load_cases() if c["id"] == "kein_auftrag")
    send_voice_note(case)
    run_worker()
    [reply] = texts(whatsapp_fake)
    assert "keinen Auftrag" in reply and "Beispiel" in reply
    assert count(app, Invoice) == 0


def test_invalid_extraction_is_fed_back_once_and_then_accepted(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic) -> None:
    case = INVOICE_CASES[0]
    broken = {**case["fields"], "items": [{**case["fields"]["items"][0], "quantity": -3, "unit": "bucket"}]}
    anthropic_fake.queue_reply(broken)
    send_voice_note(case)
    run_worker()
    assert len(anthropic_fake.calls) == 2
    feedback = str(anthropic_fake.calls[1]["messages"][-1])
    assert "quantity" in feedback and "unit" in feedback
    [draft] = button_messages(whatsapp_fake)
    assert "Entwurf" in draft.body and draft.titles == ["Erstellen", "Ändern", "Verwerfen"]
    assert count(app, Invoice) == 1


def test_transcription_failing_after_retries_apologises_without_an_invoice(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI) -> None:
    openai_fake.fail_next(100, 500, {"error": {"message": "overloaded", "type": "server_error"}})
    send_voice_note(INVOICE_CASES[0])
    run_worker()
    [reply] = texts(whatsapp_fake)
    assert "Entschuldige" in reply
    assert count(app, Invoice) == 0
    with get_services(app).db.session() as session:
        inbound = session.scalars(select(InboundMessage)).one()
        assert inbound.state is InboundState.FAILED and inbound.error_code == "TranscriptionFailed"
        assert inbound.attempts == 2  # the first try and one RQ retry
        tenant_counter = session.execute(select(func.max(Invoice.number))).scalar()
        assert tenant_counter is None


def test_failed_replies_are_retried_without_a_second_draft_or_invoice(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, press: Press) -> None:
    # 503 is Meta's "not processed": mark-as-read and the reply each use up 4 tries (1 + 3 HTTP retries), nothing was
    # sent, and the RQ retry then succeeds
    whatsapp_fake.fail_next(8, 503, {"error": {"message": "Service unavailable", "code": 131016}})
    send_voice_note(INVOICE_CASES[0])
    run_worker()
    assert count(app, Invoice) == 1
    assert len(button_messages(whatsapp_fake)) == 1
    whatsapp_fake.fail_next(8, 503, {"error": {"message": "Service unavailable", "code": 131016}})
    press("Erstellen")
    run_worker()
    assert count(app, Invoice) == 1
    replies = texts(whatsapp_fake)
    assert len(replies) == 1 and "RE-" in replies[0]
    with get_services(app).db.session() as session:
        assert session.scalars(select(Invoice)).one().number == replies[0].split()[2]


def test_the_same_voice_note_delivered_three_times_makes_one_invoice(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    for _ in range(3):
        send_voice_note(INVOICE_CASES[0], message_id="wamid.same-message")
    run_worker()
    assert count(app, Invoice) == 1
    assert len(button_messages(whatsapp_fake)) == 1
    assert whatsapp_fake.media_downloads == [f"media-{INVOICE_CASES[0]['id']}"]
