"""The WhatsApp side as the development emulator plays it: webhook bodies Meta would post, and the Cloud API's
answers (message ids, media metadata, errors) including its checks of what a business sends.

Pure functions over dicts; the emulator's views (handlers/emulator*.py) keep the state and do the I/O. The bodies
have the shape of Meta's recorded webhooks (tests/data/message.json, callback_button.json, message_status.json).
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

from whatsapp import MessageInvalid
from whatsapp.limits import MAX_BUTTONS, MAX_FOOTER, check_buttons

GRAPH_VERSION = "v25.0"
WABA_ID = "100000000000000"  # the emulated WhatsApp Business Account
DISPLAY_NUMBER = "15550000000"  # the business's display number (context.from of a pressed button)
MAX_TEXT = 4096  # Meta: a text message body is 1 to 4096 characters
STATUSES = ("sent", "delivered", "read")
SEND_TYPES = ("text", "interactive", "template", "audio", "document", "image", "video", "sticker", "location",
              "contacts", "reaction")

# Meta's wording in error_data.details for each field whatsapp.limits names (see tests/fakes/whatsapp.py)
LIMIT_LABELS = {"body": "Body text", "button_title": "Button title", "button_id": "Button id",
                "footer": "Footer text"}


def new_wamid() -> str:
    """A message id in the form Meta gives them (base64-ish after 'wamid.')."""
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11\x18\x14EMU" + secrets.token_bytes(16)).decode().rstrip("=")


def new_media_id() -> str:
    """A media id as Meta's: a string of 16 digits."""
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def user_id_of(digits: str) -> str:
    """A stable business-scoped user id (BSUID) for a number, as Meta sends in `contacts[].user_id` since 2026."""
    return f"US.{int.from_bytes(hashlib.sha256(digits.encode()).digest()[:8], 'big')}"


def _value(phone_number_id: str, digits: str, name: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": name}, "wa_id": digits, "user_id": user_id_of(digits)}]}


def _envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"value": value, "field": "messages"}]}]}


def message_webhook(phone_number_id: str, digits: str, message: dict[str, Any],
                    name: str = "Emulator") -> dict[str, Any]:
    """The webhook body of one inbound message from `digits` (`message` without from/timestamp)."""
    value = _value(phone_number_id, digits, name)
    value["messages"] = [{"from": digits, "timestamp": str(int(time.time())), **message}]
    return _envelope(value)


def text_message(wamid: str, text: str, context_id: str | None = None) -> dict[str, Any]:
    """A typed text; with `context_id`, a reply quoting that business message."""
    message: dict[str, Any] = {"id": wamid, "type": "text", "text": {"body": text}}
    if context_id:
        message["context"] = {"from": DISPLAY_NUMBER, "id": context_id}
    return message


def media_sha256(data: bytes) -> str:
    """The media's hash as Meta gives it: SHA-256, base64."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def audio_message(wamid: str, media_id: str, mime_type: str, data: bytes, voice: bool) -> dict[str, Any]:
    """A voice note (recorded in the chat, `voice: true`) or an audio file (`voice: false`)."""
    return {"id": wamid, "type": "audio",
            "audio": {"mime_type": mime_type, "sha256": media_sha256(data), "id": media_id, "voice": voice}}


def document_message(wamid: str, media_id: str, mime_type: str, data: bytes, filename: str,
                     caption: str | None) -> dict[str, Any]:
    """A file sent in the chat (an invoice PDF sent back for a Storno, say), with its caption when it has one."""
    document = {"filename": filename, "mime_type": mime_type, "sha256": media_sha256(data), "id": media_id}
    return {"id": wamid, "type": "document", "document": {"caption": caption, **document} if caption else document}


def button_reply_message(wamid: str, context_id: str, button_id: str, title: str) -> dict[str, Any]:
    """A pressed reply button of the business message `context_id`."""
    return {"context": {"from": DISPLAY_NUMBER, "id": context_id}, "id": wamid, "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}}


def status_webhook(phone_number_id: str, digits: str, wamid: str, status: str,
                   callback_data: str | None = None) -> dict[str, Any]:
    """The status update (sent, delivered, read) of a business message to `digits`, with the send's
    `biz_opaque_callback_data` when it had one (as Meta echoes it)."""
    entry: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(int(time.time())),
                             "recipient_id": digits,
                             "conversation": {"id": hashlib.sha256(f"conv/{digits}".encode()).hexdigest()[:30],
                                              "origin": {"type": "service"}},
                             "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"}}
    if status == "sent":
        entry["conversation"]["expiration_timestamp"] = str(int(time.time()) + 24 * 3600)
    if callback_data:
        entry["biz_opaque_callback_data"] = callback_data
    value = _value(phone_number_id, digits, "Emulator")
    value["statuses"] = [entry]
    return _envelope(value)


def media_metadata(media_id: str, url: str, mime_type: str, data: bytes) -> dict[str, Any]:
    """`GET /<version>/<media_id>`: where to download the media (the URL needs the bearer token too)."""
    return {"messaging_product": "whatsapp", "url": url, "mime_type": mime_type,
            "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data), "id": media_id}


def sent_answer(to: str, wamid: str) -> dict[str, Any]:
    """The Cloud API's answer to an accepted send."""
    return {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": digits_of(to)}],
            "messages": [{"id": wamid}]}


def graph_error(message: str, code: int, error_type: str = "OAuthException", subcode: int | None = None,
                details: str | None = None) -> dict[str, Any]:
    """A Graph API error body: {"error": {message, type, code, [error_data], [error_subcode], fbtrace_id}}."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(15)
    return {"error": error}


def invalid_token() -> dict[str, Any]:
    return graph_error("Invalid OAuth access token - Cannot parse access token", 190)


def unknown_object(object_id: str) -> dict[str, Any]:
    return graph_error(f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded "
                       "due to missing permissions, or does not support this operation.", 100,
                       "GraphMethodException", subcode=33)


def missing(parameter: str) -> dict[str, Any]:
    return graph_error(f"(#100) The parameter {parameter} is required.", 100)


def not_valid(details: str) -> dict[str, Any]:
    return graph_error("(#131009) Parameter value is not valid", 131009, details=details)


def digits_of(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def check_send(body: Any) -> dict[str, Any] | None:
    """None when the Cloud API would accept this send (not a read receipt), else its error body (answered 400).

    Texts are 1-4096 characters; reply-button messages are checked by whatsapp.limits (the limits the client
    checks before sending), with Meta's error 131009 and its wording; a missing part is error 100."""
    if not isinstance(body, dict):
        return graph_error("(#100) The request body must be JSON", 100)
    if body.get("messaging_product") != "whatsapp":
        return missing("messaging_product")
    if not body.get("to"):
        return missing("to")
    kind = body.get("type", "text")
    if kind not in SEND_TYPES:
        return graph_error(f"(#100) Param type must be one of {{{', '.join(t.upper() for t in SEND_TYPES)}}}", 100)
    part = body.get(kind)
    if not isinstance(part, dict):
        return missing(kind)
    if kind == "text":
        text = part.get("body")
        if not isinstance(text, str) or not text:
            return missing("text['body']")
        if len(text) > MAX_TEXT:
            return not_valid(f"Message text length invalid. Min length: 1, Max length: {MAX_TEXT}")
    if kind == "interactive":
        return _check_interactive(part)
    if kind == "template" and not (isinstance(part.get("name"), str) and isinstance(part.get("language"), dict)):
        return missing("template['name'] and template['language']")
    return None


def _check_interactive(interactive: dict[str, Any]) -> dict[str, Any] | None:
    if interactive.get("type") != "button":
        return None  # lists, CTA URLs, ... are recorded unchecked; the bot sends reply buttons only
    body, action, footer = interactive.get("body"), interactive.get("action"), interactive.get("footer")
    if not isinstance(body, dict):
        return missing("interactive['body']")
    raw = action.get("buttons") if isinstance(action, dict) else None
    if not isinstance(raw, list):
        return missing("interactive['action']['buttons']")
    buttons: list[tuple[str, str]] = []
    for index, button in enumerate(raw):
        reply = button.get("reply") if isinstance(button, dict) else None
        if not isinstance(button, dict) or button.get("type") != "reply" or not isinstance(reply, dict):
            return graph_error(f"(#100) Param interactive['action']['buttons'][{index}]['type'] must be one of "
                               "{REPLY} with a reply object", 100)
        buttons.append((str(reply.get("id", "")), str(reply.get("title", ""))))
    footer_text = footer.get("text") if isinstance(footer, dict) else None
    if footer is not None and not footer_text:
        return not_valid(f"Footer text length invalid. Min length: 1, Max length: {MAX_FOOTER}")
    try:
        check_buttons(str(body.get("text", "")), buttons, footer_text)
    except MessageInvalid as exc:
        return not_valid(limit_details(exc))
    return None


def limit_details(exc: MessageInvalid) -> str:
    """Meta's error_data.details for a limit of whatsapp.limits."""
    if exc.field == "buttons":
        return f"Buttons count invalid. Min count: 1, Max count: {MAX_BUTTONS}"
    label = LIMIT_LABELS.get(exc.field, exc.field)
    if exc.limit is None:
        return f"{label} must be unique within the message"
    return f"{label} length invalid. Min length: 1, Max length: {exc.limit}"
