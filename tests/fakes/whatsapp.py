"""A fake WhatsApp Cloud API (Graph API): media metadata, media download, message send, mark as read.

Every endpoint requires `Authorization: Bearer <token>`; otherwise the answer is 401 with a Graph
error (`OAuthException`, code 190), as Meta answers an invalid access token.

Error injection (`fail_next`) answers with any status and JSON body, for example Meta's pacing
error for more than one message per 6 s to a user:

    fake.fail_next(1, 400, {"error": {"message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
                                      "type": "OAuthException", "code": 131056, "fbtrace_id": "Afake"}},
                   path_contains="/messages")

Injected failures are recorded in `requests` only; `sent`, `read_receipts` and `media_downloads`
list what was answered successfully.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import threading
from typing import Any

from tests.fakes.base import LoopbackServer, Recorded, Reply, json_reply


def graph_error(status: int, message: str, code: int, error_type: str = "OAuthException",
                subcode: int | None = None) -> Reply:
    """A Graph API error reply: `{"error": {"message", "type", "code", ["error_subcode"], "fbtrace_id"}}`."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
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
        with self._state_lock:
            self.sent.append(body)
        return json_reply(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": _digits(to)}],
                                "messages": [{"id": f"wamid.{secrets.token_hex(16).upper()}"}]})
