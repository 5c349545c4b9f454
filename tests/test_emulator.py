"""The WhatsApp emulator (EMULATOR=1): its page driven in real headless Chromium against the served app and a real
RQ worker process, its emulated Graph API answering as Meta does, its webhooks shaped and signed as Meta's, and its
absence when off or in production."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from app import ConfigError, create_app
from handlers.emulator_state import chat_store
from services import get_services
from settings import EMULATOR_CREDENTIALS, Settings
from store.models import InboundMessage
from tests.conftest import CHROMIUM_ARGS
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import (
    ROOT,
    SAMPLES,
    TENANT_PHONE,
    WA_TOKEN,
    AddTenant,
    load_cases,
    load_payload,
    read_page_texts,
    redis_client,
)
from whatsapp.emulation import (
    audio_message,
    button_reply_message,
    document_message,
    message_webhook,
    status_webhook,
    text_message,
)

GRAPH = "/emulator/graph/v25.0"
PHONE_NUMBER_ID = "1122334455667"
DIGITS = TENANT_PHONE.lstrip("+")
AUTH = {"Authorization": f"Bearer {WA_TOKEN}"}


class LateApp:
    """A WSGI app bound after the server listens: the app's PUBLIC_BASE_URL needs the server's port."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture
def live_server() -> Iterator[tuple[BaseWSGIServer, LateApp]]:
    late = LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, late
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def app_env(app_env: dict[str, str], live_server: tuple[BaseWSGIServer, LateApp]) -> dict[str, str]:
    """The suite's settings with the emulator on: links and the WhatsApp client point at the served app (no
    WHATSAPP_API_BASE, so the emulator's default applies)."""
    env = {**app_env, "EMULATOR": "1", "PUBLIC_BASE_URL": f"http://127.0.0.1:{live_server[0].server_port}"}
    del env["WHATSAPP_API_BASE"]
    return env


@pytest.fixture(autouse=True)
def fresh_chats(redis_url: str) -> Iterator[None]:
    """Emulator state lives under `emulator:` in the Redis every test shares: each test starts without it."""
    client = redis_client(redis_url)

    def clear() -> None:
        keys = list(client.scan_iter(match="emulator:*"))
        if keys:
            client.delete(*keys)

    clear()
    yield
    clear()


@pytest.fixture
def live_url(app: Flask, live_server: tuple[BaseWSGIServer, LateApp]) -> str:
    server, late = live_server
    late.app = app
    return f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def worker(app_env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`flask --app app worker` (not burst) as its own process, its log in tmp_path/worker.log; stopped at the end."""
    with open(tmp_path / "worker.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=ROOT,
                                   env={**os.environ, **app_env}, stdout=log, stderr=subprocess.STDOUT)
        yield process
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def chromium_args() -> list[str]:
    return [*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]  # a microphone


@pytest.fixture
def page(browser: Browser, live_url: str) -> Iterator[Page]:
    context = browser.new_context(locale="de-DE", viewport={"width": 1100, "height": 900}, accept_downloads=True)
    context.grant_permissions(["microphone"], origin=live_url)
    page = context.new_page()
    page.set_default_timeout(20000)
    yield page
    context.close()


def page_token(client: FlaskClient) -> dict[str, str]:
    """The page's form token as the page's script sends it (X-CSRFToken)."""
    html = client.get("/emulator").get_data(as_text=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, html
    return {"X-CSRFToken": found.group(1)}


def inbound_kinds(app: Flask) -> list[str]:
    """The kinds of the inbound message rows the real webhook intake stored, oldest first."""
    with get_services(app).db.session() as session:
        return [kind.value for kind in session.scalars(select(InboundMessage.kind).order_by(InboundMessage.id))]


def shape(value: Any) -> Any:
    """The keys of a JSON body, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


# --- in the browser ----------------------------------------------------------------------------


def test_voice_note_to_draft_to_invoice_pdf_in_the_browser(
        page: Page, live_url: str, add_tenant: AddTenant, worker: subprocess.Popen[bytes],
        openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    case = next(c for c in load_cases() if c["id"] == "waschbecken")
    audio = (SAMPLES / case["audio"]).read_bytes()
    openai_fake.add_transcript(audio, case["transcript"])
    anthropic_fake.add_reply(case["transcript"][:60], case["fields"])
    add_tenant(company="Elektro Meier GmbH")
    add_tenant(phone="+4917699887766", company="Zweiter Betrieb", verified=False)

    page.goto(f"{live_url}/emulator")  # opened on the verified tenant's number
    expect(page.locator("#number-select")).to_have_value(TENANT_PHONE)
    expect(page.locator("#presence")).to_have_text(f"Chat mit {TENANT_PHONE}")
    page.get_by_label("Datei senden").set_input_files(SAMPLES / case["audio"])  # choosing it sends it

    voice_note = page.locator(".msg.user").first
    expect(voice_note).to_contain_text(case["audio"])
    draft = page.locator(".msg.bot").filter(has=page.get_by_role("button", name="Erstellen"))
    expect(draft).to_be_visible(timeout=60000)
    expect(draft.locator(".buttons button")).to_have_text(["Erstellen", "Ändern", "Verwerfen"])
    expect(draft).to_contain_text("Thomas Müller")
    expect(draft.locator(".footer")).not_to_be_empty()
    expect(voice_note.locator(".ticks")).to_have_attribute("aria-label", "gelesen")  # the bot's read receipt
    assert openai_fake.transcriptions[0]["file"]["content_type"].startswith("audio/ogg")
    page.screenshot(path=str(tmp_path / "emulator-draft.png"))

    draft.get_by_role("button", name="Erstellen").click()
    pressed = page.locator(".msg.user").nth(1)
    expect(pressed).to_contain_text("Erstellen")
    expect(pressed.locator(".quoted")).not_to_be_empty()  # WhatsApp quotes the message whose button was pressed
    ready = page.locator(".msg.bot").filter(has_text="ist fertig")
    expect(ready).to_be_visible(timeout=60000)
    page.screenshot(path=str(tmp_path / "emulator-invoice.png"))
    link = ready.get_by_role("link")
    href = link.get_attribute("href") or ""
    assert re.fullmatch(rf"{re.escape(live_url)}/d/[\w-]+", href), href
    expect(link).to_have_text(href)

    with page.context.expect_page() as opened:
        link.click()
    download_page = opened.value
    expect(download_page.get_by_role("heading")).to_contain_text("Rechnung")
    with download_page.expect_download() as downloaded:
        download_page.get_by_role("button", name="PDF herunterladen").click()
    pdf = Path(downloaded.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert "Thomas Müller" in " ".join(read_page_texts(pdf))

    page.get_by_label("Nachricht", exact=True).fill("Storno")  # the PDF sent back as a document, with a caption
    page.get_by_label("Datei senden").set_input_files({"name": "Rechnung.pdf", "mimeType": "application/pdf",
                                                       "buffer": pdf})
    returned = page.locator(".msg.user").filter(has_text="Rechnung.pdf")
    expect(returned).to_contain_text("Storno")
    expect(returned.get_by_role("link")).to_have_text("📄 Rechnung.pdf")
    cancelled = page.locator(".msg.bot").filter(has_text="Stornorechnung")
    expect(cancelled).to_contain_text("zur Rechnung", timeout=60000)
    expect(page.get_by_label("Nachricht", exact=True)).to_have_value("")
    assert worker.poll() is None

    logs = "\n".join(r.getMessage() for r in caplog.records) + (tmp_path / "worker.log").read_text()
    assert "Lindenstraße" not in logs and "Müller" not in logs and DIGITS not in logs  # no content, no number
    assert "GET /emulator/graph/v25.0/" in logs  # the worker fetched the media through the emulated Graph API
    assert "GET /emulator/api/chat " not in logs  # the page's polls stay out of the access log


def test_typed_text_and_a_recording_from_the_microphone(
        page: Page, live_url: str, app: Flask, add_tenant: AddTenant) -> None:
    """No worker runs: the messages reach /webhook (two grey ticks) and wait in the queue."""
    add_tenant()
    page.goto(f"{live_url}/emulator")
    page.get_by_label("Nachricht", exact=True).fill("HILFE")
    page.get_by_role("button", name="Senden", exact=True).click()
    typed = page.locator(".msg.user").first
    expect(typed).to_contain_text("HILFE")
    expect(typed.locator(".ticks")).to_have_attribute("aria-label", "zugestellt")

    page.get_by_role("button", name="Sprachnachricht aufnehmen").click()  # Chromium's fake microphone
    page.wait_for_timeout(1200)
    page.get_by_role("button", name="Aufnahme beenden und senden").click()
    recorded = page.locator(".msg.user").nth(1)
    expect(recorded).to_contain_text("Sprachnachricht")
    expect(recorded.locator(".ticks")).to_have_attribute("aria-label", "zugestellt")
    expect(recorded.locator("audio")).to_have_count(1)

    services = get_services(app)
    assert inbound_kinds(app) == ["text", "voice"]
    records = chat_store(services).messages(DIGITS)
    assert records[1]["audio"]["voice"] is True
    assert records[1]["audio"]["mime_type"].startswith(("audio/webm", "audio/ogg"))  # what Chromium records
    stored = chat_store(services).get_media(records[1]["audio"]["id"])
    assert stored is not None and len(stored[0]) > 100


def test_a_new_number_and_the_otp_template_with_its_copy_button(
        page: Page, live_url: str, app: Flask, add_tenant: AddTenant, client: FlaskClient) -> None:
    """A send the page did not cause (support sends a code) shows in that number's chat; the template's
    copy-code button puts the code into the text field."""
    tenant_id = add_tenant(verified=False)
    result = app.test_cli_runner().invoke(args=["tenant", "send-code", str(tenant_id)])
    assert result.exit_code == 0, result.output
    page.goto(f"{live_url}/emulator")
    page.get_by_label("oder Nummer").fill("0176 12345678")
    page.get_by_role("button", name="Öffnen").click()
    expect(page.locator("#number-select")).to_have_value(TENANT_PHONE)
    template = page.locator(".msg.bot").filter(has_text="Bestätigungscode")
    expect(template).to_contain_text("Vorlage „verification_code“ (de)")
    code = template.locator("strong").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    template.get_by_role("button", name="Code kopieren").click()
    expect(page.get_by_label("Nachricht", exact=True)).to_have_value(code)

    page.get_by_label("oder Nummer").fill("keine Nummer")
    page.get_by_role("button", name="Öffnen").click()  # an invalid number opens nothing new
    expect(page.get_by_role("alert")).to_contain_text("Keine gültige Telefonnummer")
    expect(page.locator("#number-select")).to_have_value(TENANT_PHONE)
    page.reload()  # the page keeps the chosen number (in the browser, not in a URL)
    expect(page.locator(".msg.bot")).to_contain_text("Bestätigungscode")


# --- the emulated Graph API, answering as Meta does --------------------------------------------


def test_graph_api_needs_the_token_and_the_phone_number_id(client: FlaskClient) -> None:
    body = {"messaging_product": "whatsapp", "to": DIGITS, "type": "text", "text": {"body": "Hallo"}}
    response = client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", json=body)
    assert response.status_code == 401 and response.json["error"]["code"] == 190
    assert response.json["error"]["type"] == "OAuthException" and response.json["error"]["fbtrace_id"]
    response = client.post(f"{GRAPH}/999/messages", json=body, headers=AUTH)
    assert response.status_code == 400 and response.json["error"]["code"] == 100
    assert response.json["error"]["error_subcode"] == 33
    assert client.get(f"{GRAPH}/123", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(f"{GRAPH}/123", headers=AUTH).json["error"]["code"] == 100  # unknown media id


def test_graph_api_records_a_send_answers_its_id_and_posts_its_statuses(app: Flask, client: FlaskClient) -> None:
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": DIGITS, "type": "text",
            "text": {"body": "Hallo https://example.org/x", "preview_url": False}}
    response = client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", json=body, headers=AUTH)
    assert response.status_code == 200
    wamid = response.json["messages"][0]["id"]
    assert response.json == {"messaging_product": "whatsapp", "contacts": [{"input": DIGITS, "wa_id": DIGITS}],
                             "messages": [{"id": wamid}]}
    assert wamid.startswith("wamid.")
    [record] = chat_store(get_services(app)).messages(DIGITS)
    assert record["id"] == wamid and record["from"] == "bot" and record["text"]["body"] == "Hallo https://example.org/x"
    assert record["status"] == "read" and record["statuses"] == {"sent": 200, "delivered": 200, "read": 200}


def test_graph_api_refuses_what_breaks_the_cloud_api_limits_and_the_chat_shows_it(
        app: Flask, client: FlaskClient) -> None:
    def buttons(*titles: str) -> dict[str, Any]:
        return {"messaging_product": "whatsapp", "to": DIGITS, "type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Entwurf"}, "footer": {"text": "Fußzeile"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": t}}
                                   for i, t in enumerate(titles)]}}}

    response = client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", json=buttons("x" * 21), headers=AUTH)
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["code"], error["message"]) == (131009, "(#131009) Parameter value is not valid")
    assert error["error_data"]["details"] == "Button title length invalid. Min length: 1, Max length: 20"
    response = client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", json=buttons("a", "b", "c", "d"), headers=AUTH)
    assert response.json["error"]["error_data"]["details"] == "Buttons count invalid. Min count: 1, Max count: 3"
    response = client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", json=buttons("a", "a"), headers=AUTH)
    assert response.json["error"]["error_data"]["details"] == "Button title must be unique within the message"
    response = client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", headers=AUTH, json={
        "messaging_product": "whatsapp", "to": DIGITS, "type": "text", "text": {"body": "x" * 4097}})
    assert response.json["error"]["error_data"]["details"] == \
        "Message text length invalid. Min length: 1, Max length: 4096"
    response = client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", headers=AUTH, json={
        "messaging_product": "whatsapp", "to": DIGITS, "type": "text", "text": {}})
    assert response.json["error"]["code"] == 100
    assert client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", json=buttons("Erstellen", "Ändern", "Verwerfen"),
                       headers=AUTH).status_code == 200

    records = chat_store(get_services(app)).messages(DIGITS)
    assert [r["type"] for r in records] == ["error"] * 5 + ["interactive"]
    assert records[0]["error"]["error_data"]["details"].startswith("Button title length invalid")


def test_media_is_served_as_meta_serves_it_and_read_receipts_turn_ticks_blue(
        app: Flask, client: FlaskClient, add_tenant: AddTenant) -> None:
    add_tenant()
    audio = (SAMPLES / "maler.ogg").read_bytes()
    response = client.post("/emulator/api/audio", headers=page_token(client), data={
        "nummer": TENANT_PHONE, "voice": "1", "audio": (io.BytesIO(audio), "maler.ogg", "audio/ogg; codecs=opus")})
    assert response.status_code == 200, response.json
    message = response.json["message"]
    assert message["status"] == "delivered" and message["webhook"] == 200
    media_id = message["audio"]["id"]
    assert message["audio"]["mime_type"] == "audio/ogg; codecs=opus"

    meta = client.get(f"{GRAPH}/{media_id}", headers=AUTH)
    assert meta.status_code == 200
    assert set(meta.json) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert meta.json["file_size"] == len(audio) and meta.json["mime_type"] == "audio/ogg; codecs=opus"
    url = meta.json["url"].removeprefix("http://localhost")
    assert client.get(url).status_code == 401
    download = client.get(url, headers=AUTH)
    assert download.status_code == 200 and download.data == audio

    receipt = {"messaging_product": "whatsapp", "status": "read", "message_id": message["id"],
               "typing_indicator": {"type": "text"}}
    response = client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", json=receipt, headers=AUTH)
    assert response.status_code == 200 and response.json == {"success": True}
    chat = client.get("/emulator/api/chat", headers={"X-Emulator-Number": TENANT_PHONE}).json
    assert chat["typing"] is True and chat["messages"][0]["status"] == "read"
    receipt["message_id"] = "wamid.unknown"
    assert client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", json=receipt, headers=AUTH).status_code == 400


# --- the page's API: signed webhooks to the real /webhook --------------------------------------


def test_the_page_posts_signed_webhooks_and_presses_only_buttons_the_bot_sent(
        app: Flask, client: FlaskClient, add_tenant: AddTenant) -> None:
    add_tenant()
    headers = page_token(client)
    assert client.post("/emulator/api/text", json={"nummer": TENANT_PHONE, "text": "HILFE"}).status_code == 400  # CSRF
    response = client.post("/emulator/api/text", json={"nummer": TENANT_PHONE, "text": "HILFE"}, headers=headers)
    assert response.status_code == 200 and response.json["message"]["webhook"] == 200
    services = get_services(app)
    assert inbound_kinds(app) == ["text"]  # the real intake stored it

    sent = client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", headers=AUTH, json={
        "messaging_product": "whatsapp", "to": DIGITS, "type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Entwurf"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "issue:1", "title": "Erstellen"}}]}}})
    wamid = sent.json["messages"][0]["id"]
    response = client.post("/emulator/api/button", headers=headers,
                           json={"nummer": TENANT_PHONE, "message": wamid, "button": "issue:1"})
    assert response.status_code == 200
    assert response.json["message"]["text"]["body"] == "Erstellen" and response.json["message"]["context"] == wamid
    assert inbound_kinds(app) == ["text", "button"]
    response = client.post("/emulator/api/button", headers=headers,
                           json={"nummer": TENANT_PHONE, "message": wamid, "button": "made-up"})
    assert response.status_code == 404
    response = client.post("/emulator/api/text", headers=headers, json={"nummer": "123", "text": "x"})
    assert response.status_code == 400 and "Telefonnummer" in response.json["error"]
    response = client.post("/emulator/api/audio", headers=headers, data={
        "nummer": TENANT_PHONE, "audio": (io.BytesIO(b"{}"), "cases.json", "application/json")})
    assert response.status_code == 400
    response = client.post("/emulator/api/document", headers=headers, data={
        "nummer": TENANT_PHONE, "caption": "Storno", "document": (io.BytesIO(b"%PDF-1.7"), "Rechnung.pdf",
                                                                 "application/pdf")})
    assert response.status_code == 200 and response.json["message"]["document"]["caption"] == "Storno"
    assert inbound_kinds(app) == ["text", "button", "document"]
    assert client.post("/emulator/api/document", headers=headers, data={"nummer": TENANT_PHONE}).status_code == 400

    unknown = client.post("/emulator/api/text", headers=headers, json={"nummer": "+4915112345678", "text": "Hallo"})
    assert unknown.json["message"]["webhook"] == 200  # an unknown sender is answered with a notice, not an error
    assert client.post("/emulator/api/clear", headers=headers, json={"nummer": TENANT_PHONE}).status_code == 200
    assert chat_store(services).messages(DIGITS) == []


def test_the_webhook_bodies_have_the_shape_of_metas_recorded_ones() -> None:
    pairs = [
        (message_webhook(PHONE_NUMBER_ID, DIGITS, text_message("wamid.x", "Hallo")), ("message.json", "text")),
        (message_webhook(PHONE_NUMBER_ID, DIGITS, audio_message("wamid.x", "123", "audio/ogg; codecs=opus", b"x",
                                                                True)), ("message.json", "voice")),
        (message_webhook(PHONE_NUMBER_ID, DIGITS, button_reply_message("wamid.x", "wamid.y", "b", "Erstellen")),
         ("callback_button.json", "button")),
        (message_webhook(PHONE_NUMBER_ID, DIGITS, document_message(
            "wamid.x", "123", "application/pdf", b"%PDF", "Rechnung.pdf", "Storno")), ("message.json", "document")),
        (status_webhook(PHONE_NUMBER_ID, DIGITS, "wamid.x", "sent"), ("message_status.json", "sent")),
        (status_webhook(PHONE_NUMBER_ID, DIGITS, "wamid.x", "read"), ("message_status.json", "read")),
    ]
    for body, (file, case) in pairs:
        recorded = shape(load_payload(file, case))
        recorded["entry"][0]["changes"][0]["value"]["contacts"][0].pop("parent_user_id")
        if case == "document":  # the recorded one was forwarded; the emulator's are the sender's own
            recorded["entry"][0]["changes"][0]["value"]["messages"][0].pop("context")
        assert shape(body) == recorded, (file, case)
    assert json.loads(json.dumps(pairs[2][0]))["entry"][0]["changes"][0]["value"]["messages"][0]["context"]["id"] \
        == "wamid.y"


# --- on only when asked, never in production ---------------------------------------------------


def test_settings_point_the_whatsapp_client_at_the_emulator() -> None:
    settings = Settings(emulator=True, public_base_url="http://127.0.0.1:5001", whatsapp_token="",
                        whatsapp_app_secret="", whatsapp_phone_number_id="")
    assert settings.whatsapp_api_base == "http://127.0.0.1:5001/emulator/graph/v25.0"
    assert {name: getattr(settings, name) for name in EMULATOR_CREDENTIALS} == EMULATOR_CREDENTIALS
    explicit = Settings(emulator=True, whatsapp_api_base="http://graph.test/v25.0", whatsapp_token="real")
    assert (explicit.whatsapp_api_base, explicit.whatsapp_token) == ("http://graph.test/v25.0", "real")
    off = Settings(emulator=False, whatsapp_token="")
    assert off.whatsapp_api_base == "https://graph.facebook.com/v25.0" and off.whatsapp_token == ""


def test_the_emulator_is_absent_when_off_and_refused_in_production(app_env: dict[str, str], tmp_path: Path,
                                                                   postgres_key_store_url: str) -> None:
    config: dict[str, Any] = {k.lower(): v for k, v in app_env.items() if k != "JOB_RETRY_INTERVALS"}
    config.update(instance_path=str(tmp_path / "instance"), key_store_url=postgres_key_store_url)
    for overrides in ({"emulator": False}, {"app_env": "production", "emulator": False}):
        app = create_app({**config, "secret_key": "s" * 64, **overrides})
        client = app.test_client()
        for url in ("/emulator", "/emulator/static/emulator.js", "/emulator/api/chat", f"{GRAPH}/123"):
            assert client.get(url, headers=AUTH).status_code == 404, (overrides, url)
        assert client.post(f"{GRAPH}/{PHONE_NUMBER_ID}/messages", headers=AUTH, json={}).status_code == 404
        get_services(app).close()
    with pytest.raises(ConfigError, match="EMULATOR=1"):
        create_app({**config, "secret_key": "s" * 64, "app_env": "production", "emulator": True})


def test_the_page_is_served_with_a_strict_policy(client: FlaskClient, add_tenant: AddTenant) -> None:
    add_tenant()
    response = client.get("/emulator")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "media-src 'self' blob:" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html and "<style" not in html
    assert f'data-number="{TENANT_PHONE}"' in html
    assert client.get("/emulator/static/emulator.js").status_code == 200


def test_without_an_extraction_backend_the_page_names_the_variable_to_set(
        app_env: dict[str, str], tmp_path: Path) -> None:
    config: dict[str, Any] = {k.lower(): v for k, v in app_env.items() if k != "JOB_RETRY_INTERVALS"}
    config["instance_path"] = str(tmp_path / "instance")
    app = create_app({**config, "anthropic_api_key": ""})
    html = app.test_client().get("/emulator").get_data(as_text=True)
    assert "kann der Bot noch nicht lesen: ANTHROPIC_API_KEY is not set" in html
    get_services(app).close()
    app = create_app(config)
    assert "noch nicht lesen" not in app.test_client().get("/emulator").get_data(as_text=True)
    get_services(app).close()
