"""The WhatsApp emulator (development only, EMULATOR=1): a chat page that plays the tradesperson's phone.

What the page does goes the real way: each message becomes a webhook body as Meta posts it, signed with the app
secret and posted to the app's own /webhook; voice notes and audio files are kept as media the emulated Graph API
(handlers/emulator_graph.py) serves to the workers; the bot's sends arrive there and the page polls them.
Registered by create_app only when EMULATOR=1 and never with APP_ENV=production.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, render_template, request

from accounts.tenants import InvalidPhone, normalise_phone
from extraction import describe_missing_backend
from handlers.emulator_state import ChatStore, chat_store, deliver_webhook, tenant_numbers
from handlers.security import EMULATOR_PAGE
from services import Services, get_services
from whatsapp.emulation import (
    button_reply_message,
    message_webhook,
    new_wamid,
    text_message,
)

logger = logging.getLogger(__name__)
bp = Blueprint("emulator", __name__, url_prefix="/emulator", template_folder="templates",
               static_folder="static/emulator", static_url_path="/static")

Answer = tuple[dict[str, Any], int]
POLL_PATH = "/emulator/api/chat"


class Refused(Exception):
    """A request of the page that cannot be carried out; the message is shown in the page."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class QuietPolls(logging.Filter):
    """Drops the development server's access-log line of each successful poll (one a second per open page)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) >= 2 and f"GET {POLL_PATH} " in str(args[0]) and str(args[1]) == "200")


@bp.record_once
def quiet_polls(_state: Any) -> None:
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, QuietPolls) for f in access_log.filters):
        access_log.addFilter(QuietPolls())


@bp.errorhandler(Refused)
def refused(exc: Refused) -> Answer:
    return {"error": exc.message}, exc.status


@bp.after_request
def add_headers(response: Response) -> Response:
    response.headers.update(EMULATOR_PAGE)
    return response


@bp.get("")
def page() -> str:
    """The phone, opened on the first active verified tenant's number (the page remembers another choice).

    Numbers never travel in URLs (access logs): the page sends them in request bodies and a header."""
    services = get_services()
    numbers = tenant_numbers(services)
    known = {n["phone"] for n in numbers}
    for digits in chat_store(services).chats():
        if f"+{digits}" not in known:
            numbers.append({"phone": f"+{digits}", "company": None, "verified": False, "active": False})
            known.add(f"+{digits}")
    current = next((n["phone"] for n in numbers if n["active"] and n["verified"]), "")
    return render_template("emulator.html", numbers=numbers, current=current,
                           setup_hint=describe_missing_backend(services.settings))


def read_number(value: Any) -> str:
    """The digits (wa_id) of a number the page sends; Refused when it is not a valid phone number."""
    try:
        return normalise_phone(str(value or "").strip()).lstrip("+")
    except InvalidPhone:
        raise Refused("Keine gültige Telefonnummer (z. B. +49 176 12345678).") from None


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Refused("JSON erwartet.")
    return body


@bp.post("/api/open")
def open_number() -> Answer:
    """Check a number typed into the page; its E.164 form."""
    return {"number": f"+{read_number(json_body().get('nummer'))}"}, 200


@bp.get("/api/chat")
def chat() -> Answer:
    """The chat of the number in the X-Emulator-Number header: messages, and whether the bot is typing."""
    digits = read_number(request.headers.get("X-Emulator-Number"))
    store = chat_store(get_services())
    return {"number": f"+{digits}", "typing": store.is_typing(digits), "messages": store.messages(digits)}, 200


def send(services: Services, store: ChatStore, digits: str, message: dict[str, Any],
         record: dict[str, Any]) -> Answer:
    """Record the user's message, post it as a signed webhook and show how the app answered (ticks or error)."""
    store.add(digits, {**record, "id": message["id"], "from": "user", "status": "sent"})
    status = deliver_webhook(services, message_webhook(services.settings.whatsapp_phone_number_id, digits, message))
    if status == 200:
        updated = store.update(message["id"], status="delivered", webhook=status)
    else:
        logger.warning("emulator: /webhook answered %s", status)
        updated = store.update(message["id"], status="failed", webhook=status)
        store.add_error(digits, {"message": f"/webhook antwortete {status}", "code": status}, "Webhook")
    return {"message": updated}, 200


@bp.post("/api/text")
def send_text() -> Answer:
    body = json_body()
    digits = read_number(body.get("nummer"))
    text = str(body.get("text") or "")
    if not text.strip():
        raise Refused("Leere Nachricht.")
    context = str(body["context"]) if body.get("context") else None
    wamid = new_wamid()
    services = get_services()
    return send(services, chat_store(services), digits, text_message(wamid, text, context),
                {"type": "text", "text": {"body": text}, "context": context})


def reply_buttons(record: dict[str, Any]) -> dict[str, str]:
    """id -> title of the reply buttons of a recorded bot message."""
    action = record.get("interactive", {}).get("action") or {}
    return {str(b["reply"].get("id")): str(b["reply"].get("title")) for b in action.get("buttons") or []
            if isinstance(b, dict) and isinstance(b.get("reply"), dict)}


@bp.post("/api/button")
def press_button() -> Answer:
    """Press a reply button of a bot message: the title is the one the bot gave it."""
    body = json_body()
    digits = read_number(body.get("nummer"))
    services = get_services()
    store = chat_store(services)
    pressed = store.get(str(body.get("message") or ""))
    if pressed is None or pressed.get("chat") != digits or pressed.get("type") != "interactive":
        raise Refused("Diese Nachricht gibt es nicht (mehr).", 404)
    buttons = reply_buttons(pressed)
    button_id = str(body.get("button") or "")
    if button_id not in buttons:
        raise Refused("Diesen Knopf hat die Nachricht nicht.", 404)
    wamid = new_wamid()
    message = button_reply_message(wamid, pressed["id"], button_id, buttons[button_id])
    return send(services, store, digits, message,
                {"type": "button", "text": {"body": buttons[button_id]}, "context": pressed["id"]})


@bp.post("/api/clear")
def clear() -> Answer:
    digits = read_number(json_body().get("nummer"))
    chat_store(get_services()).clear(digits)
    return {"cleared": True}, 200
