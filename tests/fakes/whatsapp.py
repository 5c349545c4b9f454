"""A fake WhatsApp Cloud API (Graph API): media metadata, media download, message send, mark as read.

Every endpoint requires `Authorization: Bearer <token>`; otherwise the answer is 401 with a Graph
error (`OAuthException`, code 190), as Meta answers an invalid access token.

Error injection (`fail_next`) answers with any status and JSON body, for example Meta's pacing
error for more than one message per 6 s to a user:

    fake.fail_next(1, 400, {"error": {"message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                                      "type": "OAuthException", "code": 131056, "fbtrace_id": "Afake"}},
                   path_contains="/messages")

Interactive reply-button sends (`"type": "interactive"`, `interactive.type == "button"`) are checked
against Meta's limits: body text 1-1024 characters, 1-3 buttons of type "reply", a title 1-20
characters and an id 1-256 characters, titles and ids unique within the message, header text and
footer text 1-60 characters. A breach answers 400 with Meta's error shape, code 131009 "(#131009)
Parameter value is not valid" and `error_data.details` naming the field (the body-text and
button-title details are Meta's own wording); a missing part or an unknown interactive type answers
code 100 naming the parameter. Other Meta interactive types (list, cta_url, ...) are recorded
without checks.

Injected failures are recorded in `requests` only; `sent`, `sent_ids`, `read_receipts` and
`media_downloads` list what was answered successfully.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import threading
from typing import Any

from tests.fakes.base import LoopbackServer, Recorded, Reply, json_reply

INTERACTIVE_TYPES = ("button", "list", "cta_url", "product", "product_list", "catalog_message", "flow",
                     "location_request_message")
MAX_BODY, MAX_BUTTONS, MAX_BUTTON_TITLE, MAX_BUTTON_ID, MAX_HEADER, MAX_FOOTER = 1024, 3, 20, 256, 60, 60


def graph_error(status: int, message: str, code: int, error_type: str = "OAuthException",
                subcode: int | None = None, details: str | None = None) -> Reply:
    """A Graph API error reply: `{"error": {"message", "type", "code", ["error_data"], ["error_subcode"],
    "fbtrace_id"}}`; `details` goes into `error_data` as the Cloud API puts it."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(15)
    return json_reply(status, {"error": error})


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


class FakeWhatsApp(LoopbackServer):
    """Endpoints (all need the bearer token):

    - `GET /{api_version}/{media_id}` -> media metadata whose `url` points at this server
    - `GET /media-download/{media_id}` -> the media bytes with their mime type
    - `POST /{api_version}/{phone_number_id}/messages` -> a send (`{"messages": [{"id": "wamid..."}]}`)
      or, with `"status": "read"`, a read receipt (`{"success": true}`)
    """

    def __init__(self, token: str, api_version: str = "v25.0") -> None:
        super().__init__()
        self.token = token
        self.api_version = api_version
        self.media: dict[str, tuple[bytes, str]] = {}
        self.sent: list[dict[str, Any]] = []
        self.sent_ids: list[str] = []  # the wamid answered for each entry of `sent`, in the same order
        self.read_receipts: list[dict[str, Any]] = []
        self.media_downloads: list[str] = []
        self._state_lock = threading.Lock()

    @property
    def api_base(self) -> str:
        return f"{self.url}/{self.api_version}"

    def add_media(self, media_id: str, data: bytes, mime_type: str) -> None:
        with self._state_lock:
            self.media[media_id] = (data, mime_type)

    def texts_to(self, to: str) -> list[str]:
        """Bodies of the text messages sent to `to` (compared by digits, so `+49…` equals `49…`)."""
        with self._state_lock:
            sent = list(self.sent)
        return [str(m.get("text", {}).get("body", "")) for m in sent
                if m.get("type", "text") == "text" and _digits(str(m.get("to", ""))) == _digits(to)]

    def messages_to(self, to: str) -> list[dict[str, Any]]:
        """Every body sent to `to` (compared by digits), in order."""
        with self._state_lock:
            sent = list(self.sent)
        return [m for m in sent if _digits(str(m.get("to", ""))) == _digits(to)]

    def buttons_to(self, to: str) -> list[tuple[str, list[tuple[str, str]]]]:
        """Body text and (id, title) pairs of the reply-button messages sent to `to` (compared by digits)."""
        return [(str(m["interactive"]["body"]["text"]),
                 [(str(b["reply"]["id"]), str(b["reply"]["title"])) for b in m["interactive"]["action"]["buttons"]])
                for m in self.messages_to(to)
                if m.get("type") == "interactive" and m["interactive"].get("type") == "button"]

    # dispatch ----------------------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return graph_error(401, "Invalid OAuth access token - Cannot parse access token", 190)
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and len(parts) == 2 and parts[0] == "media-download":
            return self._download(parts[1])
        if request.method == "GET" and len(parts) == 2 and parts[0] == self.api_version:
            return self._metadata(parts[1])
        if request.method == "POST" and len(parts) == 3 and parts[0] == self.api_version and parts[2] == "messages":
            return self._messages(request)
        return graph_error(400, f"Unsupported {request.method.lower()} request. Unknown path {request.path!r}.",
                           100, "GraphMethodException")

    def _unknown_media(self, media_id: str) -> Reply:
        return graph_error(400, f"Unsupported get request. Object with ID '{media_id}' does not exist, cannot be "
                           "loaded due to missing permissions, or does not support this operation.",
                           100, "GraphMethodException", subcode=33)

    def _metadata(self, media_id: str) -> Reply:
        with self._state_lock:
            entry = self.media.get(media_id)
        if entry is None:
            return self._unknown_media(media_id)
        data, mime_type = entry
        return json_reply(200, {
            "messaging_product": "whatsapp", "url": f"{self.url}/media-download/{media_id}?ext=1",
            "mime_type": mime_type, "sha256": hashlib.sha256(data).hexdigest(), "file_size": len(data),
            "id": media_id,
        })

    def _download(self, media_id: str) -> Reply:
        with self._state_lock:
            entry = self.media.get(media_id)
            if entry is not None:
                self.media_downloads.append(media_id)
        if entry is None:
            return graph_error(404, f"Media '{media_id}' not found", 100, "GraphMethodException")
        return Reply(200, entry[0], entry[1])

    def _messages(self, request: Recorded) -> Reply:
        body = request.json
        if not isinstance(body, dict):
            return graph_error(400, "(#100) The request body must be JSON", 100)
        if body.get("messaging_product") != "whatsapp":
            return graph_error(400, "(#100) The parameter messaging_product is required.", 100)
        if body.get("status") == "read":
            if not body.get("message_id"):
                return graph_error(400, "(#100) The parameter message_id is required.", 100)
            with self._state_lock:
                self.read_receipts.append(body)
            return json_reply(200, {"success": True})
        to = body.get("to")
        if not to:
            return graph_error(400, "(#100) The parameter to is required.", 100)
        kind = body.get("type", "text")
        if not isinstance(body.get(kind), dict):
            return graph_error(400, f"(#100) The parameter {kind} is required.", 100)
        if kind == "text" and not body["text"].get("body"):
            return graph_error(400, "(#100) The parameter text['body'] is required.", 100)
        if kind == "interactive":
            refused = _check_interactive(body["interactive"])
            if refused is not None:
                return refused
        wamid = f"wamid.{secrets.token_hex(16).upper()}"
        with self._state_lock:
            self.sent.append(body)
            self.sent_ids.append(wamid)
        return json_reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": _digits(to)}],
                                "messages": [{"id": wamid}]})


def _invalid(details: str) -> Reply:
    return graph_error(400, "(#131009) Parameter value is not valid", 131009, details=details)


def _missing(parameter: str) -> Reply:
    return graph_error(400, f"(#100) The parameter {parameter} is required.", 100)


def _length_invalid(label: str, value: Any, maximum: int) -> Reply | None:
    if isinstance(value, str) and 1 <= len(value) <= maximum:
        return None
    return _invalid(f"{label} length invalid. Min length: 1, Max length: {maximum}")


def _check_interactive(interactive: dict[str, Any]) -> Reply | None:
    """None when the interactive object is acceptable, else the Cloud API's error answer."""
    kind = interactive.get("type")
    if kind not in INTERACTIVE_TYPES:
        return graph_error(400, "(#100) Param interactive['type'] must be one of "
                           f"{{{', '.join(t.upper() for t in INTERACTIVE_TYPES)}}}", 100)
    if kind != "button":
        return None
    if not isinstance(interactive.get("body"), dict):
        return _missing("interactive['body']")
    header, footer = interactive.get("header"), interactive.get("footer")
    action = interactive.get("action")
    buttons = action.get("buttons") if isinstance(action, dict) else None
    if not isinstance(buttons, list):
        return _missing("interactive['action']['buttons']")
    replies = []
    for index, button in enumerate(buttons):
        if not isinstance(button, dict) or button.get("type") != "reply" or not isinstance(button.get("reply"), dict):
            return graph_error(400, f"(#100) Param interactive['action']['buttons'][{index}]['type'] must be "
                               "one of {REPLY} with a reply object", 100)
        replies.append(button["reply"])
    refused = _length_invalid("Body text", interactive["body"].get("text"), MAX_BODY)
    if refused is None and not 1 <= len(replies) <= MAX_BUTTONS:
        refused = _invalid(f"Buttons count invalid. Min count: 1, Max count: {MAX_BUTTONS}")
    for reply in replies:
        refused = (refused or _length_invalid("Button title", reply.get("title"), MAX_BUTTON_TITLE)
                   or _length_invalid("Button id", reply.get("id"), MAX_BUTTON_ID))
    if refused is None and len({r["title"] for r in replies}) < len(replies):
        refused = _invalid("Button title must be unique within the message")
    if refused is None and len({r["id"] for r in replies}) < len(replies):
        refused = _invalid("Button id must be unique within the message")
    if refused is None and isinstance(header, dict) and header.get("type") == "text":
        refused = _length_invalid("Header text", header.get("text"), MAX_HEADER)
    if refused is None and footer is not None:
        refused = _length_invalid("Footer text", footer.get("text") if isinstance(footer, dict) else None, MAX_FOOTER)
    return refused
