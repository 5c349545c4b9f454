"""Reply-button messages: the real client against the fake Cloud API, and parsing presses and quoted replies."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import TENANT_PHONE, button_body, load_payload, text_body
from whatsapp import GraphError, MessageInvalid
from whatsapp.client import WhatsAppClient, build_http_session
from whatsapp.limits import MAX_BODY, MAX_BUTTON_ID, MAX_BUTTON_TITLE, MAX_BUTTONS, MAX_FOOTER
from whatsapp.payloads import WebhookBody, iter_incoming

TOKEN = "wa-test-token"
DIGITS = TENANT_PHONE.lstrip("+")
CHOICES = [("draft:7:create", "Erstellen"), ("draft:7:edit", "Ändern"), ("draft:7:drop", "Verwerfen")]


@pytest.fixture
def wa() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def client(wa: FakeWhatsApp) -> WhatsAppClient:
    return WhatsAppClient(wa.api_base, TOKEN, "1122334455667", build_http_session(retries=0))


def test_send_buttons_posts_the_cloud_api_shape_and_returns_the_wamid(wa: FakeWhatsApp,
                                                                       client: WhatsAppClient) -> None:
    wamid = client.send_buttons(TENANT_PHONE, "Rechnung an Thomas Müller, 471,24 €", CHOICES, footer="Entwurf")

    assert wa.sent_ids == [wamid] and wamid.startswith("wamid.")
    assert wa.requests[0].path == "/v25.0/1122334455667/messages"
    assert wa.messages_to(TENANT_PHONE) == [{
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": DIGITS, "type": "interactive",
        "interactive": {
            "type": "button", "body": {"text": "Rechnung an Thomas Müller, 471,24 €"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in CHOICES]},
            "footer": {"text": "Entwurf"}}}]
    assert wa.buttons_to(DIGITS) == [("Rechnung an Thomas Müller, 471,24 €", CHOICES)]
    assert wa.texts_to(DIGITS) == []


def test_send_buttons_without_footer_sends_none(wa: FakeWhatsApp, client: WhatsAppClient) -> None:
    client.send_buttons(DIGITS, "Erstellen?", CHOICES[:1])
    client.send_buttons(DIGITS, "Erstellen?", CHOICES[:1], footer="")

    assert [m["interactive"].get("footer") for m in wa.messages_to(DIGITS)] == [None, None]


def test_the_widest_message_the_guard_allows_is_accepted_by_the_api(wa: FakeWhatsApp, client: WhatsAppClient) -> None:
    buttons = [(str(n) * MAX_BUTTON_ID, f"{n}" * MAX_BUTTON_TITLE) for n in range(MAX_BUTTONS)]

    client.send_buttons(DIGITS, "ä" * MAX_BODY, buttons, footer="f" * MAX_FOOTER)

    assert wa.buttons_to(DIGITS) == [("ä" * MAX_BODY, buttons)]


@pytest.mark.parametrize(("body", "buttons", "footer", "field", "limit", "actual"), [
    ("", CHOICES, None, "body", MAX_BODY, 0),
    ("x" * (MAX_BODY + 1), CHOICES, None, "body", MAX_BODY, MAX_BODY + 1),
    ("Erstellen?", [], None, "buttons", MAX_BUTTONS, 0),
    ("Erstellen?", [*CHOICES, ("more", "Mehr")], None, "buttons", MAX_BUTTONS, 4),
    ("Erstellen?", [("a", "")], None, "button_title", MAX_BUTTON_TITLE, 0),
    ("Erstellen?", [("a", "Rechnung jetzt erstellen")], None, "button_title", MAX_BUTTON_TITLE, 24),
    ("Erstellen?", [("a", "Ja"), ("b", "Ja")], None, "button_title", None, None),
    ("Erstellen?", [("", "Ja")], None, "button_id", MAX_BUTTON_ID, 0),
    ("Erstellen?", [("i" * (MAX_BUTTON_ID + 1), "Ja")], None, "button_id", MAX_BUTTON_ID, MAX_BUTTON_ID + 1),
    ("Erstellen?", [("a", "Ja"), ("a", "Nein")], None, "button_id", None, None),
    ("Erstellen?", CHOICES, "f" * (MAX_FOOTER + 1), "footer", MAX_FOOTER, MAX_FOOTER + 1),
], ids=["body-empty", "body-long", "no-buttons", "four-buttons", "title-empty", "title-long", "titles-twice",
        "id-empty", "id-long", "ids-twice", "footer-long"])
def test_send_buttons_refuses_what_breaks_a_limit_before_sending(
        wa: FakeWhatsApp, client: WhatsAppClient, body: str, buttons: list[tuple[str, str]], footer: str | None,
        field: str, limit: int | None, actual: int | None) -> None:
    with pytest.raises(MessageInvalid) as refused:
        client.send_buttons(DIGITS, body, buttons, footer=footer)

    assert (refused.value.field, refused.value.limit, refused.value.actual) == (field, limit, actual)
    assert field in str(refused.value)
    assert wa.requests == []


def test_a_refusal_of_the_api_names_the_field_in_the_graph_error(wa: FakeWhatsApp, client: WhatsAppClient) -> None:
    wa.fail_next(1, 400, {"error": {"message": "(#131009) Parameter value is not valid", "type": "OAuthException",
                                    "code": 131009, "error_data": {"messaging_product": "whatsapp",
                                                                   "details": "Button title length invalid. "
                                                                              "Min length: 1, Max length: 20"},
                                    "fbtrace_id": "Afake"}}, path_contains="/messages")

    with pytest.raises(GraphError) as refused:
        client.send_buttons(DIGITS, "Erstellen?", CHOICES)

    assert (refused.value.status, refused.value.code) == (400, 131009)
    assert "Parameter value is not valid" in str(refused.value) and "Button title length invalid" in str(refused.value)
    assert wa.sent == []


# parsing -----------------------------------------------------------------------------------------

def test_the_recorded_button_press_parses_with_its_context() -> None:
    [incoming] = iter_incoming(WebhookBody.model_validate(load_payload("callback_button.json", "button")))

    message = incoming.message
    assert incoming.phone == "+972987654321"
    assert message.type == "interactive"
    assert message.interactive is not None and message.interactive.type == "button_reply"
    assert message.interactive.button_reply is not None
    assert (message.interactive.button_reply.id, message.interactive.button_reply.title) == ("callback_data", "title")
    assert message.interactive.list_reply is None
    assert message.context is not None and message.context.id == "wamid.xyzxyz"
    assert message.context.from_ == "1122334455667"


def test_the_recorded_quick_reply_parses_with_and_without_context() -> None:
    [quoted] = iter_incoming(WebhookBody.model_validate(load_payload("callback_button.json", "quick_reply")))
    [bare] = iter_incoming(WebhookBody.model_validate(load_payload("callback_button.json",
                                                                   "quick_reply_without_context")))

    assert quoted.message.type == "button" and quoted.message.button is not None
    assert (quoted.message.button.payload, quoted.message.button.text) == ("callback_data", "title")
    assert quoted.message.context is not None and quoted.message.context.id == "wamid.xyzxyz=="
    assert bare.message.context is None and bare.message.button is not None


def test_a_press_on_a_sent_message_names_that_message(wa: FakeWhatsApp, client: WhatsAppClient) -> None:
    wamid = client.send_buttons(TENANT_PHONE, "Erstellen?", CHOICES)

    [incoming] = iter_incoming(WebhookBody.model_validate(
        button_body(TENANT_PHONE, "wamid.press", "draft:7:edit", "Ändern", wa.sent_ids[-1])))

    message = incoming.message
    assert (incoming.phone, message.id, message.type) == (TENANT_PHONE, "wamid.press", "interactive")
    assert message.interactive is not None and message.interactive.button_reply is not None
    assert message.interactive.button_reply.id == "draft:7:edit"
    assert message.interactive.button_reply.title == "Ändern"
    assert message.context is not None and message.context.id == wamid
    assert message.context.from_ == "972123456789"  # the business's display number, as Meta sends it


def test_a_quoted_text_carries_the_quoted_message_id(wa: FakeWhatsApp, client: WhatsAppClient) -> None:
    wamid = client.send_text(TENANT_PHONE, "Ihr Entwurf")

    [quoted] = iter_incoming(WebhookBody.model_validate(
        text_body(TENANT_PHONE, "wamid.reply", "Preis 80 Euro", context_id=wa.sent_ids[-1])))
    [plain] = iter_incoming(WebhookBody.model_validate(text_body(TENANT_PHONE, "wamid.plain", "Hallo")))

    assert quoted.message.text is not None and quoted.message.text.body == "Preis 80 Euro"
    assert quoted.message.context is not None and quoted.message.context.id == wamid
    assert quoted.message.context.from_ == "972123456789"
    assert quoted.message.interactive is None and quoted.message.button is None
    assert plain.message.context is None
