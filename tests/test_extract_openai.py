"""Extraction through an OpenAI-compatible chat endpoint (EXTRACT_BACKEND=openai) on real parts: webhook -> RQ
worker -> the openai SDK -> a loopback fake of chat completions; and no extraction backend at all."""
from __future__ import annotations

import copy
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from extraction import describe_missing_backend
from extraction.models import InvoiceFields
from services import get_services
from settings import Settings
from store.models import InboundMessage, InboundState, Invoice, Outcome
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    INVOICE_LINK,
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    SendReply,
    SendText,
    SendVoiceNote,
    button_messages,
    load_cases,
)

CASES = {c["id"]: c for c in load_cases()}
EXTRACT_KEY = "test-extract-key"
MODEL = "qwen2.5-7b-instruct"


@pytest.fixture
def chat_fake() -> Iterator[FakeOpenAIChat]:
    with FakeOpenAIChat(api_key=EXTRACT_KEY) as fake:
        yield fake


@pytest.fixture
def extract_env(chat_fake: FakeOpenAIChat) -> dict[str, str]:
    """The extraction settings of a test (parametrize to change them)."""
    return {"EXTRACT_BACKEND": "openai", "EXTRACT_BASE_URL": f"{chat_fake.url}/v1", "EXTRACT_API_KEY": EXTRACT_KEY,
            "EXTRACT_MODEL": MODEL}


@pytest.fixture
def app_env(app_env: dict[str, str], extract_env: dict[str, str]) -> dict[str, str]:
    return {**app_env, **extract_env}


def texts(whatsapp_fake: FakeWhatsApp) -> list[str]:
    return [text.replace("\xa0", " ") for text in whatsapp_fake.texts_to(TENANT_PHONE)]


def inbound_rows(app: Flask) -> list[InboundMessage]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def revised(fields: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(fields), **changes, "intent": "correction"}


@pytest.mark.parametrize("case_id", ["waschbecken", "english"])
def test_voice_note_draft_create_invoice_through_an_openai_compatible_endpoint(
        app: Flask, client: FlaskClient, add_tenant: AddTenant, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp, chat_fake: FakeOpenAIChat, anthropic_fake: FakeAnthropic,
        case_id: str) -> None:
    case = CASES[case_id]
    add_tenant(language=case["language"])
    chat_fake.add_reply(case["transcript"][:60], case["fields"])

    issue_by_voice(case)

    [draft] = button_messages(whatsapp_fake)
    assert case["fields"]["customer"]["name"] in draft.text
    [ready] = texts(whatsapp_fake)
    path = INVOICE_LINK.search(ready)
    assert path, ready
    download = client.post(path.group(1))
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(download.data)).pages)
    assert case["fields"]["customer"]["name"] in pdf_text

    assert anthropic_fake.requests == []  # the configured endpoint only, once
    [call] = chat_fake.calls
    assert chat_fake.requests[0].path == "/v1/chat/completions"
    assert chat_fake.requests[0].headers["authorization"] == f"Bearer {EXTRACT_KEY}"
    assert call["model"] == MODEL and call["max_tokens"] > 0
    assert call["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "invoice_fields", "description": "The invoice fields said in the message.",
        "schema": InvoiceFields.model_json_schema(), "strict": False}}
    system, user = call["messages"]
    assert system["role"] == "system" and "untrusted data" in system["content"] and "JSON" in system["content"]
    assert user["role"] == "user" and case["transcript"] in user["content"] and "<current_draft>" not in user["content"]


def test_invalid_answers_are_fed_back_once_with_their_errors(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, chat_fake: FakeOpenAIChat) -> None:
    case = CASES["waschbecken"]
    broken = {**case["fields"], "items": [{**case["fields"]["items"][0], "quantity": -3, "unit": "bucket"}]}
    chat_fake.queue_reply(broken)
    chat_fake.add_reply(case["transcript"][:60], case["fields"])

    send_voice_note(case)
    run_worker()

    first, second = chat_fake.calls
    assert second["messages"][:2] == first["messages"]
    assistant, feedback = second["messages"][2:]
    assert assistant["role"] == "assistant" and "bucket" in assistant["content"]  # its own answer, as sent
    assert feedback["role"] == "user"
    assert "items.0.quantity" in feedback["content"] and "items.0.unit" in feedback["content"]
    assert "Brutto 378,42 €" in button_messages(whatsapp_fake)[0].text


def test_broken_json_twice_fails_the_turn_after_the_job_retry(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, chat_fake: FakeOpenAIChat) -> None:
    case = CASES["waschbecken"]
    chat_fake.add_reply(case["transcript"][:60], '```json\n{"customer": {"name": "Thomas Müller"}, "items": [')

    send_voice_note(case)
    run_worker()

    assert len(chat_fake.calls) == 4  # two answers per try, one RQ retry
    assert "Invalid JSON" in chat_fake.calls[1]["messages"][-1]["content"]
    [apology] = texts(whatsapp_fake)
    assert "Entschuldige" in apology
    [inbound] = inbound_rows(app)
    assert inbound.state is InboundState.FAILED and inbound.error_code == "FieldsInvalid"


def test_service_errors_are_retried_by_the_sdk_per_ai_retries(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, chat_fake: FakeOpenAIChat) -> None:
    case = CASES["waschbecken"]
    chat_fake.add_reply(case["transcript"][:60], case["fields"])
    chat_fake.fail_next(1, 503, {"error": {"message": "busy", "type": "server_error", "param": None, "code": None}},
                        headers={"retry-after-ms": "1"})

    send_voice_note(case)
    run_worker()

    assert len(chat_fake.requests) == 2 and len(chat_fake.calls) == 1  # AI_RETRIES=1
    assert len(button_messages(whatsapp_fake)) == 1


def test_a_correction_sends_the_current_draft_and_revises_it(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, chat_fake: FakeOpenAIChat) -> None:
    case = CASES["waschbecken"]
    chat_fake.add_reply(case["transcript"][:60], case["fields"])
    send_voice_note(case)
    run_worker()
    items = copy.deepcopy(case["fields"]["items"])
    items[0]["unit_price"] = 62.0
    chat_fake.add_reply("Stundenlohn ist 62 Euro", revised(case["fields"], items=items))

    send_reply("Stundenlohn ist 62 Euro")
    run_worker()

    user = chat_fake.calls[-1]["messages"][1]["content"]
    assert "<current_draft>" in user and "Thomas Müller" in user and "Stundenlohn ist 62 Euro" in user
    correction = button_messages(whatsapp_fake)[-1]
    assert "Arbeitszeit Austausch Waschbecken: Preis 58,00 € → 62,00 €" in correction.text
    assert "Brutto 392,70 €" in correction.text


UNCONFIGURED = [
    pytest.param({"ANTHROPIC_API_KEY": ""}, "ANTHROPIC_API_KEY", id="anthropic-empty"),
    pytest.param({"ANTHROPIC_API_KEY": "unset"}, "ANTHROPIC_API_KEY", id="anthropic-unset"),
    pytest.param({"EXTRACT_BACKEND": "openai", "EXTRACT_API_KEY": "k"}, "EXTRACT_BASE_URL", id="openai-no-url"),
]


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize(("extract_env", "variable"), UNCONFIGURED)
def test_without_an_extraction_backend_the_bot_says_so_and_calls_nothing(
        app: Flask, add_tenant: AddTenant, send_voice_note: SendVoiceNote, send_text: SendText,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI,
        anthropic_fake: FakeAnthropic, chat_fake: FakeOpenAIChat, caplog: pytest.LogCaptureFixture,
        language: str, variable: str) -> None:
    add_tenant(language=language)
    case = CASES["waschbecken" if language == "de" else "english"]
    words = "Rechnung für Thomas Müller, drei Stunden Arbeit" if language == "de" else "Invoice for John Carter"

    with caplog.at_level(logging.INFO):
        send_voice_note(case)
        run_worker()
        send_text(words)
        run_worker()

    voice_reply, text_reply = texts(whatsapp_fake)
    assert voice_reply == text_reply
    expected = ("noch nicht fertig eingerichtet", "Support weiß Bescheid") if language == "de" else (
        "not fully set up", "Support knows")
    assert all(part in voice_reply for part in expected)
    assert get_services(app).settings.support_contact in voice_reply
    assert button_messages(whatsapp_fake) == []
    # nothing went out: no audio fetched, no transcription, no model
    assert whatsapp_fake.media_downloads == []
    assert openai_fake.requests == [] and anthropic_fake.requests == [] and chat_fake.requests == []
    assert [(m.state, m.outcome, m.attempts) for m in inbound_rows(app)] == [
        (InboundState.DONE, Outcome.APOLOGISED, 1)] * 2  # answered, not retried
    with get_services(app).db.session() as session:
        assert session.scalars(select(Invoice)).all() == []
    lines = [r.getMessage() for r in caplog.records if "no extraction backend" in r.getMessage()]
    assert len(lines) == 2 and all(variable in line for line in lines)
    assert words not in caplog.text and case["transcript"][:30] not in caplog.text


def settings(**values: Any) -> Settings:
    base = {"extract_backend": "anthropic", "anthropic_api_key": "k", "extract_base_url": None,
            "extract_api_key": None, "extract_model": ""}
    return Settings(**{**base, **values})


def test_describe_missing_backend_names_the_variables_to_set() -> None:
    assert describe_missing_backend(settings()) is None
    assert describe_missing_backend(settings(extract_backend="openai", extract_base_url="http://localhost:11434/v1",
                                             extract_api_key="ollama")) is None
    for key in ("", " ", "unset"):
        hint = describe_missing_backend(settings(anthropic_api_key=key))
        assert hint is not None and hint.startswith("ANTHROPIC_API_KEY is not set")
    assert describe_missing_backend(settings(extract_backend="openai")) == (
        "EXTRACT_BACKEND=openai, but EXTRACT_BASE_URL and EXTRACT_API_KEY are not set")
    assert describe_missing_backend(settings(extract_backend="OpenAI", extract_base_url="http://x/v1")) == (
        "EXTRACT_BACKEND=openai, but EXTRACT_API_KEY is not set")


def test_extract_model_defaults_per_backend() -> None:
    assert settings().extract_model == "claude-sonnet-4-6"
    assert settings(extract_backend="openai").extract_model == "gpt-4.1-mini"
    assert settings(extract_backend="openai", extract_model="mistral-small-latest").extract_model == (
        "mistral-small-latest")
    with pytest.raises(ValueError, match="extract_backend"):
        settings(extract_backend="gemini")
