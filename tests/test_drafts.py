"""Scripted conversations on real parts (webhook -> RQ worker -> fakes): drafts, corrections, questions, choices."""
from __future__ import annotations

import copy
import io
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import func, select

from services import get_services
from store.models import (
    DeletionReceipt,
    DeletionTrigger,
    Invoice,
    InvoiceState,
    SealedContent,
    Tenant,
)
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    INVOICE_LINK,
    SAMPLES,
    TENANT_PHONE,
    AddTenant,
    PostWebhook,
    Press,
    SendReply,
    SendVoiceNote,
    button_messages,
    load_cases,
    voice_body,
)

CASES = {c["id"]: c for c in load_cases()}
PREVIEW = re.compile(r"https://rechnung\.example(/e/[A-Za-z0-9_-]+)")
Say = Callable[..., None]


def revised(fields: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The case's fields as the model returns them for a correction."""
    result = copy.deepcopy(fields)
    result.update(changes)
    result["intent"] = "correction"
    return result


def texts(whatsapp_fake: FakeWhatsApp, phone: str = TENANT_PHONE) -> list[str]:
    return [text.replace("\xa0", " ") for text in whatsapp_fake.texts_to(phone)]


def invoices(app: Flask) -> list[Invoice]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(Invoice).order_by(Invoice.created_at)))


def counter_of(app: Flask, tenant_id: int) -> int:
    with get_services(app).db.session() as session:
        return session.get_one(Tenant, tenant_id).invoice_counter


def download(client: FlaskClient, reply: str) -> tuple[str, bytes]:
    """Download the invoice a reply links to: (its PDF text, its embedded Factur-X XML)."""
    path = INVOICE_LINK.search(reply)
    assert path, reply
    response = client.post(path.group(1))
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    [xml] = reader.attachments["factur-x.xml"]
    return "\n".join(page.extract_text() for page in reader.pages), xml


@pytest.fixture
def say(post_webhook: PostWebhook, whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI,
        anthropic_fake: FakeAnthropic) -> Say:
    """Deliver a voice note whose words are `words` and for which the model returns `fields`."""

    def say(words: str, fields: dict[str, Any], phone: str = TENANT_PHONE) -> None:
        audio = (SAMPLES / "waschbecken.ogg").read_bytes() + words.encode()  # distinct audio per utterance
        media_id = f"media-{uuid.uuid4().hex[:8]}"
        whatsapp_fake.add_media(media_id, audio, "audio/ogg; codecs=opus")
        openai_fake.add_transcript(audio, words)
        anthropic_fake.add_reply(words, fields)
        assert post_webhook(voice_body(phone, f"wamid.{uuid.uuid4().hex}", media_id)).status_code == 200

    return say


def test_voice_note_draft_text_correction_then_create_issues_the_corrected_invoice(
        app: Flask, client: FlaskClient, tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply,
        press: Press, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp,
        anthropic_fake: FakeAnthropic) -> None:
    case = CASES["waschbecken"]
    send_voice_note(case)
    run_worker()

    [draft] = button_messages(whatsapp_fake)
    assert draft.titles == ["Erstellen", "Ändern", "Verwerfen"]
    assert "Entwurf für Thomas Müller" in draft.text
    assert "3 Std. Arbeitszeit Austausch Waschbecken à 58,00 € = 174,00 €" in draft.text
    assert "Brutto 378,42 €" in draft.text
    assert PREVIEW.search(draft.text)
    assert counter_of(app, tenant) == 0 and [i.number for i in invoices(app)] == [None]  # no number taken

    items = copy.deepcopy(case["fields"]["items"])
    items[0]["unit_price"] = 62.0
    anthropic_fake.add_reply("Stundenlohn ist 62 Euro", revised(case["fields"], items=items))
    send_reply("Stundenlohn ist 62 Euro")
    run_worker()

    request = str(anthropic_fake.calls[-1]["messages"])  # the draft and the words both go in as data
    assert "<current_draft>" in request and "Stundenlohn ist 62 Euro" in request
    correction = button_messages(whatsapp_fake)[-1]
    assert "Arbeitszeit Austausch Waschbecken: Preis 58,00 € → 62,00 €" in correction.text
    assert "Brutto 392,70 €" in correction.text  # (186 + 144) * 1.19
    assert correction.titles == ["Erstellen", "Ändern", "Verwerfen"]
    assert counter_of(app, tenant) == 0

    press("Erstellen")
    run_worker()
    [ready] = texts(whatsapp_fake)
    assert "RE-" in ready and "392,70 €" in ready
    pdf_text, xml = download(client, ready)
    assert "62,00" in pdf_text and "392,70" in pdf_text and "ENTWURF" not in pdf_text
    values = {e.tag.split("}")[1]: e.text for e in etree.fromstring(xml).iter() if isinstance(e.tag, str)}
    prices = [e.text for e in etree.fromstring(xml).iter("{*}ChargeAmount")]
    assert prices[0] is not None and Decimal(prices[0]) == Decimal(62)
    assert values["GrandTotalAmount"] == "392.70"
    assert counter_of(app, tenant) == 1


def test_missing_price_is_asked_answered_by_voice_and_ok_issues(
        app: Flask, client: FlaskClient, tenant: int, send_voice_note: SendVoiceNote, say: Say,
        send_reply: SendReply, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    case = CASES["ohne_preis"]
    send_voice_note(case)
    run_worker()
    [question] = button_messages(whatsapp_fake)
    assert "Welchen Preis hat: Dachrinnenhalterung?" in question.text
    assert "Reinigung" in question.text and "Preis fehlt" in question.text  # labour took the hourly rate
    assert question.titles == ["Verwerfen"]  # nothing to create before the answer
    assert not PREVIEW.search(question.text)

    items = copy.deepcopy(case["fields"]["items"])
    items[0]["unit_price"] = 55.0
    items[1]["unit_price"] = 4.5
    say("Die Halterung kostet vier Euro fünfzig das Stück", revised(case["fields"], items=items))
    run_worker()
    answered = button_messages(whatsapp_fake)[-1]
    assert "Dachrinnenhalterung: Preis – → 4,50 €" in answered.text
    assert answered.titles == ["Erstellen", "Ändern", "Verwerfen"]
    assert "Brutto 174,34 €" in answered.text  # (137.50 + 9.00) * 1.19

    send_reply("OK")
    run_worker()
    [ready] = texts(whatsapp_fake)
    pdf_text, _ = download(client, ready)
    assert "Klaus Becker" in pdf_text and "174,34" in pdf_text
    assert [i.state for i in invoices(app)] == [InvoiceState.DELETED]  # downloaded, content gone


def test_the_price_list_fills_an_unsaid_price_and_says_so(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic) -> None:
    result = app.test_cli_runner().invoke(args=["tenant", "prices", "import", str(tenant), "-"],
                                          input="Bezeichnung;Einheit;Preis;MwSt\nDachrinnenhalterung;Stk;4,50;19\n")
    assert result.exit_code == 0, result.output
    send_voice_note(CASES["ohne_preis"])
    run_worker()
    [draft] = button_messages(whatsapp_fake)
    assert "Preis aus deiner Preisliste: Dachrinnenhalterung" in draft.text
    assert "2 Stk. Dachrinnenhalterung à 4,50 € = 9,00 €" in draft.text
    assert draft.titles == ["Erstellen", "Ändern", "Verwerfen"]
    assert "Dachrinnenhalterung" in openai_fake.transcriptions[0]["prompt"]  # vocabulary for transcription
    assert "<price_list>" in str(anthropic_fake.calls[0]["messages"])


def test_discarded_drafts_are_deleted_with_a_receipt_and_take_no_number(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply, press: Press,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    send_voice_note(CASES["waschbecken"])
    run_worker()
    press("Verwerfen")
    run_worker()
    send_voice_note(CASES["steckdosen"])
    run_worker()
    send_reply("ABBRECHEN")
    run_worker()
    discarded = texts(whatsapp_fake)
    assert len(discarded) == 2 and all("Entwurf verworfen" in t for t in discarded)

    with get_services(app).db.session() as session:
        receipts = session.scalars(select(DeletionReceipt)).all()
        assert [r.trigger for r in receipts] == [DeletionTrigger.DISCARD] * 2
        assert all(r.categories["draft"] == 1 and r.categories["fields"] == 1 for r in receipts)
        assert all(r.id in t for r, t in zip(receipts, discarded, strict=True))
        assert session.scalar(select(func.count()).select_from(SealedContent)) == 0
    assert counter_of(app, tenant) == 0

    send_voice_note(CASES["maler"])
    run_worker()
    press("Erstellen")
    run_worker()
    assert "RE-2026-0001" in texts(whatsapp_fake)[-1] or "-0001" in texts(whatsapp_fake)[-1]  # gapless
    press("Verwerfen", button_messages(whatsapp_fake)[0])  # an old button of a decided draft
    run_worker()
    assert texts(whatsapp_fake)[-1] == "Dieser Entwurf wurde schon verworfen."


def test_auto_issue_tenant_gets_the_invoice_at_once(
        app: Flask, add_tenant: AddTenant, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    tenant = add_tenant()
    result = app.test_cli_runner().invoke(args=["tenant", "edit", str(tenant), "--auto-issue"])
    assert result.exit_code == 0, result.output
    send_voice_note(CASES["waschbecken"])
    run_worker()
    assert not button_messages(whatsapp_fake)
    [ready] = texts(whatsapp_fake)
    assert "RE-" in ready and "378,42 €" in ready and INVOICE_LINK.search(ready)


def test_english_tenant_gets_english_drafts_questions_and_buttons(
        app: Flask, client: FlaskClient, add_tenant: AddTenant, send_voice_note: SendVoiceNote,
        send_reply: SendReply, press: Press, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp,
        anthropic_fake: FakeAnthropic) -> None:
    add_tenant(language="en")
    case = CASES["english"]
    send_voice_note(case)
    run_worker()
    [draft] = button_messages(whatsapp_fake)
    assert draft.titles == ["Create", "Change", "Discard"]
    assert "Draft for John Carter" in draft.text and "Gross €147.56" in draft.text

    press("Change")
    run_worker()
    assert texts(whatsapp_fake)[-1].startswith("What should I change?")
    items = copy.deepcopy(case["fields"]["items"])
    items[0]["quantity"] = 2
    anthropic_fake.add_reply("two hours, not one and a half", revised(case["fields"], items=items))
    send_reply("two hours, not one and a half")
    run_worker()
    assert "Labour: 1.5 hrs → 2 hrs" in button_messages(whatsapp_fake)[-1].text

    press("Create")
    run_worker()
    ready = texts(whatsapp_fake)[-1]
    assert ready.startswith("✅ Invoice") and "€183.26" in ready  # (2 * 60 + 34) * 1.19
    pdf_text, _ = download(client, ready)
    assert "Invoice" in pdf_text


def test_a_correction_that_changes_nothing_says_so(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic) -> None:
    case = CASES["waschbecken"]
    send_voice_note(case)
    run_worker()
    anthropic_fake.add_reply("passt so weit", revised(case["fields"]))
    send_reply("passt so weit, danke dir")
    run_worker()
    again = button_messages(whatsapp_fake)[-1]
    assert again.text.startswith("Ich habe keine Änderung erkannt")
    assert again.titles == ["Erstellen", "Ändern", "Verwerfen"]
