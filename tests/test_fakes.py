"""The loopback fakes, driven by the real SDK clients (openai, anthropic) and requests."""
from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
import requests
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from tests.fakes.anthropic_api import NO_MATCH, FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openai_chat import NO_MATCH as CHAT_NO_MATCH
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import SAMPLES, load_cases

TOKEN = "wa-test-token"
TOOL: anthropic.types.ToolParam = {"name": "record_invoice", "description": "Record the invoice fields.",
        "input_schema": {"type": "object", "properties": {"customer": {"type": ["object", "null"]}}}}


@pytest.fixture(scope="module")
def case() -> dict[str, Any]:
    return next(c for c in load_cases() if c["id"] == "waschbecken")


@pytest.fixture(scope="module")
def audio(case: dict[str, Any]) -> bytes:
    return (SAMPLES / case["audio"]).read_bytes()


@pytest.fixture
def wa() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def oa() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def an() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


def openai_client(fake: FakeOpenAI | FakeOpenAIChat, key: str = "test") -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=fake.url + "/v1", max_retries=0)


def anthropic_client(fake: FakeAnthropic) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test", base_url=fake.url, max_retries=0)


def ask(client: anthropic.Anthropic, text: str, forced: bool = True) -> anthropic.types.Message:
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": text}]
    if forced:
        return client.messages.create(model="claude-test", max_tokens=1024, messages=messages, tools=[TOOL],
                                      tool_choice={"type": "tool", "name": "record_invoice"})
    return client.messages.create(model="claude-test", max_tokens=1024, messages=messages)


def tool_use_id(message: anthropic.types.Message) -> str:
    block = message.content[0]
    assert isinstance(block, anthropic.types.ToolUseBlock)
    return block.id


def tool_input(message: anthropic.types.Message) -> dict[str, Any]:
    [block] = message.content
    assert isinstance(block, anthropic.types.ToolUseBlock)
    assert block.name == "record_invoice"
    assert block.id.startswith("toolu_")
    return dict(block.input)  # type: ignore[arg-type]


# OpenAI ---------------------------------------------------------------------------------------------
def test_openai_transcribes_registered_audio(oa: FakeOpenAI, case: dict[str, Any], audio: bytes) -> None:
    oa.add_transcript(audio, case["transcript"])
    client = openai_client(oa)

    result = client.audio.transcriptions.create(model="whisper-1", file=("a.ogg", audio, "audio/ogg"), language="de")

    assert result.text == case["transcript"]
    [form] = oa.transcriptions
    assert form["model"] == "whisper-1"
    assert form["language"] == "de"
    assert form["file"] == {"filename": "a.ogg", "content_type": "audio/ogg", "size": len(audio),
                            "sha256": hashlib.sha256(audio).hexdigest()}
    assert oa.requests[0].headers["authorization"] == "Bearer test"


def test_openai_unknown_audio_is_empty_and_text_format_is_plain(oa: FakeOpenAI, case: dict[str, Any],
                                                                 audio: bytes) -> None:
    oa.add_transcript(audio, case["transcript"])
    client = openai_client(oa)

    unknown = client.audio.transcriptions.create(model="whisper-1", file=("b.ogg", b"\x00\r\n--x", "audio/ogg"))
    plain = client.audio.transcriptions.create(model="whisper-1", file=("a.ogg", audio, "audio/ogg"),
                                               response_format="text", prompt="Waschbecken, Kleinmaterial")

    assert unknown.text == ""
    assert isinstance(plain, str)
    assert plain.strip() == case["transcript"]
    assert oa.transcriptions[1]["prompt"] == "Waschbecken, Kleinmaterial"
    assert oa.transcriptions[1]["response_format"] == "text"
    assert "language" not in oa.transcriptions[0]


def test_openai_wrong_key_is_rejected() -> None:
    with FakeOpenAI(api_key="right") as fake, pytest.raises(openai.AuthenticationError) as err:
        openai_client(fake, key="wrong").audio.transcriptions.create(model="whisper-1", file=("a.ogg", b"x"))
    assert err.value.status_code == 401
    assert fake.transcriptions == []


def test_openai_fail_next_raises_once_then_succeeds(oa: FakeOpenAI, case: dict[str, Any], audio: bytes) -> None:
    oa.add_transcript(audio, case["transcript"])
    oa.fail_next(1, 500, {"error": {"message": "overloaded", "type": "server_error", "param": None, "code": None}})
    client = openai_client(oa)

    with pytest.raises(openai.InternalServerError) as err:
        client.audio.transcriptions.create(model="whisper-1", file=("a.ogg", audio, "audio/ogg"), language="de")
    assert "overloaded" in str(err.value)
    result = client.audio.transcriptions.create(model="whisper-1", file=("a.ogg", audio, "audio/ogg"), language="de")

    assert result.text == case["transcript"]
    assert len(oa.requests) == 2
    assert len(oa.transcriptions) == 1


def test_openai_sdk_retries_are_served_on_the_pooled_connection(oa: FakeOpenAI, case: dict[str, Any],
                                                               audio: bytes) -> None:
    oa.add_transcript(audio, case["transcript"])
    oa.fail_next(2, 503, {"error": {"message": "busy", "type": "server_error"}}, headers={"retry-after-ms": "1"})
    client = openai.OpenAI(api_key="test", base_url=oa.url + "/v1", max_retries=2)

    result = client.audio.transcriptions.create(model="whisper-1", file=("a.ogg", audio, "audio/ogg"))

    assert result.text == case["transcript"]
    assert len(oa.requests) == 3


# Anthropic ------------------------------------------------------------------------------------------
def test_anthropic_forced_tool_call_returns_rule_input(an: FakeAnthropic, case: dict[str, Any]) -> None:
    an.add_reply("nothing like this", {"customer": None, "items": [], "missing": ["customer"]})
    an.add_reply(case["transcript"][:60], case["fields"])

    message = ask(anthropic_client(an), f"<transcript>\n{case['transcript']}\n</transcript>")

    assert tool_input(message) == case["fields"]
    assert message.stop_reason == "tool_use"
    assert message.model == "claude-test"
    assert message.id.startswith("msg_")
    assert message.usage.input_tokens > 0
    [call] = an.calls
    assert call["tool_choice"] == {"type": "tool", "name": "record_invoice"}
    assert case["transcript"] in call["messages"][0]["content"]
    headers = an.requests[0].headers  # older SDKs send x-api-key, newer ones a bearer token
    assert headers.get("x-api-key") == "test" or headers.get("authorization") == "Bearer test"
    assert headers["anthropic-version"]


def test_anthropic_queue_first_then_rules_then_no_match(an: FakeAnthropic, case: dict[str, Any]) -> None:
    broken: dict[str, Any] = {"customer": None, "items": [{"description": "x", "quantity": -1}], "missing": []}
    an.add_reply("Waschbecken", case["fields"])
    an.queue_reply(broken)
    client = anthropic_client(an)

    first = ask(client, case["transcript"])
    first_id = tool_use_id(first)
    # the retry carries the earlier tool call and a tool_result with the errors, as the product sends it
    retry: list[anthropic.types.MessageParam] = [
        {"role": "user", "content": case["transcript"]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": first_id, "name": "record_invoice",
                                           "input": broken}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": first_id, "is_error": True,
                                      "content": "items.0.quantity: > 0"}]},
    ]
    second = client.messages.create(model="claude-test", max_tokens=1024, tools=[TOOL], messages=retry,
                                    tool_choice={"type": "tool", "name": "record_invoice"})
    third = ask(client, "Hallo, wie geht's?")

    assert tool_input(first) == broken
    assert tool_input(second) == case["fields"]
    assert tool_input(third) == NO_MATCH
    assert "items.0.quantity" in str(an.calls[1]["messages"][-1])


def test_anthropic_without_tool_choice_answers_text(an: FakeAnthropic, case: dict[str, Any]) -> None:
    an.add_reply("Waschbecken", case["fields"])

    message = ask(anthropic_client(an), case["transcript"], forced=False)

    [block] = message.content
    assert isinstance(block, anthropic.types.TextBlock)
    assert json.loads(block.text) == case["fields"]
    assert message.stop_reason == "end_turn"


def test_anthropic_rejects_a_forced_tool_that_is_not_offered(an: FakeAnthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="not found in tools"):
        anthropic_client(an).messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}],
                                             tools=[TOOL], tool_choice={"type": "tool", "name": "other"})
    assert an.calls == []


def test_anthropic_fail_next_raises_once_then_succeeds(an: FakeAnthropic, case: dict[str, Any]) -> None:
    an.add_reply("Waschbecken", case["fields"])
    an.fail_next(1, 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
                 path_contains="/v1/messages")
    client = anthropic_client(an)

    with pytest.raises(anthropic.APIStatusError) as err:
        ask(client, case["transcript"])
    assert err.value.status_code == 529
    assert tool_input(ask(client, case["transcript"])) == case["fields"]
    assert len(an.calls) == 1
    assert len(an.requests) == 2


# OpenAI-compatible chat completions ----------------------------------------------------------------
SCHEMA: dict[str, Any] = {"type": "object", "properties": {"customer": {"type": ["object", "null"]},
                                                           "notes": {"type": ["string", "null"]}},
                          "required": ["customer"]}


@pytest.fixture
def chat() -> Iterator[FakeOpenAIChat]:
    with FakeOpenAIChat() as fake:
        yield fake


def complete(client: openai.OpenAI, text: str, strict: bool = False,
             history: list[ChatCompletionMessageParam] | None = None) -> ChatCompletion:
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": "Extract the fields."},
                                                  *(history or []), {"role": "user", "content": text}]
    return client.chat.completions.create(
        model="local-model", messages=messages, max_tokens=512,
        response_format={"type": "json_schema", "json_schema": {"name": "invoice_fields", "schema": SCHEMA,
                                                                "strict": strict}})


def answer_of(completion: ChatCompletion) -> Any:
    [choice] = completion.choices
    assert choice.index == 0 and choice.finish_reason == "stop" and choice.message.role == "assistant"
    return json.loads(choice.message.content or "")


def test_chat_json_schema_answer_from_a_rule(chat: FakeOpenAIChat, case: dict[str, Any]) -> None:
    chat.add_reply("nothing like this", {"customer": None, "items": []})
    chat.add_reply(case["transcript"][:60], case["fields"])

    completion = complete(openai_client(chat), f"<message>\n{case['transcript']}\n</message>")

    assert answer_of(completion) == case["fields"]
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.model == "local-model" and completion.created > 0
    assert completion.usage is not None and completion.usage.total_tokens > completion.usage.prompt_tokens > 0
    [call] = chat.calls
    assert call["response_format"]["json_schema"] == {"name": "invoice_fields", "schema": SCHEMA, "strict": False}
    assert call["max_tokens"] == 512
    assert case["transcript"] in call["messages"][1]["content"]
    assert chat.requests[0].path == "/v1/chat/completions"
    assert chat.requests[0].headers["authorization"] == "Bearer test"


def test_chat_queue_first_then_rules_then_no_match(chat: FakeOpenAIChat, case: dict[str, Any]) -> None:
    chat.add_reply("Waschbecken", case["fields"])
    chat.queue_reply("```json\n{\"customer\": nul")  # a raw answer: the model's broken JSON, sent as it is
    client = openai_client(chat)

    first = complete(client, case["transcript"])
    # the corrective turn carries the earlier answer and the errors, as the product sends them
    second = complete(client, "Invalid fields, fix these: [\"answer: Invalid JSON\"]", history=[
        {"role": "user", "content": case["transcript"]},
        {"role": "assistant", "content": first.choices[0].message.content}])
    third = complete(client, "Hallo, wie geht's?")

    assert first.choices[0].message.content == "```json\n{\"customer\": nul"
    assert answer_of(second) == case["fields"]
    assert answer_of(third) == CHAT_NO_MATCH
    assert [m["role"] for m in chat.calls[1]["messages"]] == ["system", "user", "assistant", "user"]


def test_chat_wrong_key_is_rejected(case: dict[str, Any]) -> None:
    with FakeOpenAIChat(api_key="right") as fake, pytest.raises(openai.AuthenticationError) as err:
        complete(openai_client(fake, key="wrong"), case["transcript"])
    assert err.value.status_code == 401
    assert fake.calls == []


def test_chat_fail_next_raises_once_then_succeeds(chat: FakeOpenAIChat, case: dict[str, Any]) -> None:
    chat.add_reply("Waschbecken", case["fields"])
    chat.fail_next(1, 429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "param": None,
                                      "code": None}}, path_contains="/chat/completions")
    client = openai_client(chat)

    with pytest.raises(openai.RateLimitError, match="Rate limit reached"):
        complete(client, case["transcript"])
    assert answer_of(complete(client, case["transcript"])) == case["fields"]
    assert len(chat.requests) == 2 and len(chat.calls) == 1


def test_chat_refuses_what_openai_refuses(chat: FakeOpenAIChat) -> None:
    client = openai_client(chat)

    with pytest.raises(openai.BadRequestError, match="additionalProperties"):
        complete(client, "x", strict=True)  # strict mode: every property required, no others
    with pytest.raises(openai.BadRequestError, match="json_schema.name"):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                       response_format={"type": "json_schema",
                                                        "json_schema": {"name": "no spaces", "schema": SCHEMA}})
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="m", messages=[])
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="m", prompt="x")

    strict_schema = {**SCHEMA, "required": ["customer", "notes"], "additionalProperties": False}
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], response_format={
        "type": "json_schema", "json_schema": {"name": "ok", "schema": strict_schema, "strict": True}})
    assert len(chat.calls) == 1


# WhatsApp -------------------------------------------------------------------------------------------
def test_whatsapp_media_metadata_then_bytes(wa: FakeWhatsApp, audio: bytes) -> None:
    wa.add_media("media-1", audio, "audio/ogg; codecs=opus")
    session = requests.Session()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    meta = session.get(f"{wa.api_base}/media-1", headers=auth, timeout=5)
    assert meta.status_code == 200
    info = meta.json()
    assert info == {"messaging_product": "whatsapp", "url": f"{wa.url}/media-download/media-1?ext=1",
                    "mime_type": "audio/ogg; codecs=opus", "sha256": hashlib.sha256(audio).hexdigest(),
                    "file_size": len(audio), "id": "media-1"}
    assert wa.media_downloads == []

    data = session.get(info["url"], headers=auth, timeout=5)
    assert data.status_code == 200
    assert data.content == audio
    assert data.headers["Content-Type"] == "audio/ogg; codecs=opus"
    assert wa.media_downloads == ["media-1"]
    assert wa.requests[1].query == {"ext": "1"}


def test_whatsapp_requires_the_bearer_token(wa: FakeWhatsApp, audio: bytes) -> None:
    wa.add_media("media-1", audio, "audio/ogg")

    for url in (f"{wa.api_base}/media-1", f"{wa.url}/media-download/media-1"):
        response = requests.get(url, timeout=5)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["type"] == "OAuthException"
        assert error["code"] == 190
        assert error["fbtrace_id"]
    wrong = requests.get(f"{wa.api_base}/media-1", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401
    assert wa.media_downloads == []


def test_whatsapp_unknown_media_is_a_graph_error(wa: FakeWhatsApp) -> None:
    response = requests.get(f"{wa.api_base}/nope", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100


def test_whatsapp_send_and_mark_read(wa: FakeWhatsApp) -> None:
    url = f"{wa.api_base}/1122334455667/messages"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.in",
            "typing_indicator": {"type": "text"}}
    send = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "4917612345678", "type": "text",
            "text": {"body": "Ihre Rechnung", "preview_url": False}}
    template = {"messaging_product": "whatsapp", "to": "4917612345678", "type": "template",
                "template": {"name": "hello", "language": {"code": "de"}}}

    assert requests.post(url, json=read, headers=auth, timeout=5).json() == {"success": True}
    answer = requests.post(url, json=send, headers=auth, timeout=5).json()
    assert requests.post(url, json=template, headers=auth, timeout=5).status_code == 200

    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": "4917612345678", "wa_id": "4917612345678"}]
    assert answer["messages"][0]["id"].startswith("wamid.")
    assert wa.read_receipts == [read]
    assert wa.sent == [send, template]
    assert wa.texts_to("4917612345678") == ["Ihre Rechnung"]
    assert wa.texts_to("+4917612345678") == ["Ihre Rechnung"]
    assert wa.texts_to("4900") == []


def test_whatsapp_rejects_a_send_without_recipient(wa: FakeWhatsApp) -> None:
    response = requests.post(f"{wa.api_base}/1/messages", json={"messaging_product": "whatsapp", "type": "text",
                                                                "text": {"body": "x"}},
                             headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100
    assert wa.sent == []


def test_whatsapp_rate_limit_injection_only_hits_matching_paths(wa: FakeWhatsApp, audio: bytes) -> None:
    wa.add_media("m", audio, "audio/ogg")
    rate_limit = {"error": {"message": "(#131056) pair rate limit hit", "type": "OAuthException", "code": 131056,
                            "fbtrace_id": "Afake"}}
    wa.fail_next(1, 400, rate_limit, path_contains="/messages")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    send = {"messaging_product": "whatsapp", "to": "49151", "type": "text", "text": {"body": "hi"}}

    assert session.get(f"{wa.api_base}/m", timeout=5).status_code == 200
    limited = session.post(f"{wa.api_base}/1/messages", json=send, timeout=5)
    ok = session.post(f"{wa.api_base}/1/messages", json=send, timeout=5)

    assert limited.status_code == 400
    assert limited.json() == rate_limit
    assert ok.status_code == 200
    assert wa.texts_to("49151") == ["hi"]
    assert [r.path for r in wa.requests] == ["/v25.0/m", "/v25.0/1/messages", "/v25.0/1/messages"]


def buttons_send(to: str = "4917612345678", body: str = "Rechnung erstellen?",
                 buttons: list[tuple[str, str]] | None = None, **extra: Any) -> dict[str, Any]:
    """A reply-button send body in the Cloud API shape; `extra` adds or replaces keys of `interactive`."""
    pairs = [("create", "Erstellen"), ("edit", "Ändern"), ("drop", "Verwerfen")] if buttons is None else buttons
    interactive = {"type": "button", "body": {"text": body},
                   "action": {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in pairs]},
                   **extra}
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "interactive",
            "interactive": interactive}


def test_whatsapp_records_a_valid_reply_button_message(wa: FakeWhatsApp) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    url = f"{wa.api_base}/1/messages"
    text = {"messaging_product": "whatsapp", "to": "4917612345678", "type": "text", "text": {"body": "Hallo"}}
    widest = buttons_send(body="x" * 1024, buttons=[("i" * 256, "t" * 20)], header={"type": "text", "text": "h" * 60},
                          footer={"text": "f" * 60})

    answers = [session.post(url, json=body, timeout=5) for body in (text, buttons_send(), widest,
                                                                    buttons_send(to="4900"))]

    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert wa.sent_ids == [a.json()["messages"][0]["id"] for a in answers]
    assert len(set(wa.sent_ids)) == 4
    assert wa.messages_to("+4917612345678") == [text, buttons_send(), widest]
    assert wa.buttons_to("+49 176 12345678") == [
        ("Rechnung erstellen?", [("create", "Erstellen"), ("edit", "Ändern"), ("drop", "Verwerfen")]),
        ("x" * 1024, [("i" * 256, "t" * 20)])]
    assert wa.texts_to("4917612345678") == ["Hallo"]


@pytest.mark.parametrize(("body", "code", "names"), [
    (buttons_send(body=""), 131009, "Body text"),
    (buttons_send(body="x" * 1025), 131009, "Body text"),
    ({**buttons_send(), "interactive": {k: v for k, v in buttons_send()["interactive"].items() if k != "body"}},
     100, "interactive['body']"),
    (buttons_send(buttons=[]), 131009, "Buttons count"),
    (buttons_send(buttons=[("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]), 131009, "Buttons count"),
    (buttons_send(buttons=[("a", "")]), 131009, "Button title"),
    (buttons_send(buttons=[("a", "t" * 21)]), 131009, "Button title"),
    (buttons_send(buttons=[("a", "Ja"), ("b", "Ja")]), 131009, "Button title"),
    (buttons_send(buttons=[("a", "Ja"), ("a", "Nein")]), 131009, "Button id"),
    (buttons_send(buttons=[("i" * 257, "Ja")]), 131009, "Button id"),
    (buttons_send(footer={"text": "f" * 61}), 131009, "Footer text"),
    (buttons_send(header={"type": "text", "text": "h" * 61}), 131009, "Header text"),
    (buttons_send(type="carousel_of_doom"), 100, "interactive['type']"),
    (buttons_send(action={"buttons": [{"type": "url", "url": "https://x"}]}), 100, "['buttons'][0]['type']"),
], ids=["body-empty", "body-long", "body-missing", "no-buttons", "four-buttons", "title-empty", "title-long",
        "titles-twice", "ids-twice", "id-long", "footer-long", "header-long", "unknown-type", "not-a-reply"])
def test_whatsapp_refuses_a_reply_button_message_beyond_the_limits(wa: FakeWhatsApp, body: dict[str, Any],
                                                                    code: int, names: str) -> None:
    response = requests.post(f"{wa.api_base}/1/messages", json=body, headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=5)

    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) <= {"message", "type", "code", "error_data", "fbtrace_id"}
    assert error["type"] == "OAuthException" and error["code"] == code and error["fbtrace_id"]
    if code == 131009:
        assert error["message"] == "(#131009) Parameter value is not valid"
        assert error["error_data"]["messaging_product"] == "whatsapp"
        assert names in error["error_data"]["details"]
    else:
        assert names in error["message"]
    assert wa.sent == [] and wa.sent_ids == [] and wa.buttons_to(body["to"]) == []


# the base server ------------------------------------------------------------------------------------
def test_keep_alive_with_content_length_and_chunked_bodies(wa: FakeWhatsApp) -> None:
    host, port = wa.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    body = json.dumps({"messaging_product": "whatsapp", "to": "49", "type": "text", "text": {"body": "a"}}).encode()

    for i in range(3):
        conn.request("POST", "/v25.0/1/messages", body=body, headers=auth)
        response = conn.getresponse()
        assert response.status == 200, i
        assert int(response.headers["Content-Length"]) == len(response.read())
    conn.request("POST", "/v25.0/1/messages", body=iter([body[:10], body[10:]]), headers=auth, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 200
    response.read()
    conn.request("GET", "/v25.0/unknown", headers=auth)
    assert conn.getresponse().status == 400
    conn.close()

    assert wa.texts_to("49") == ["a", "a", "a", "a"]
    assert wa.requests[3].body == body


def test_stop_closes_kept_alive_connections() -> None:
    fake = FakeWhatsApp(token=TOKEN).start()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    url = f"{fake.api_base}/nothing"
    assert session.get(url, timeout=5).status_code == 400
    fake.stop()

    with pytest.raises(requests.ConnectionError):
        session.get(url, timeout=5)
    with pytest.raises(RuntimeError):
        _ = fake.url
