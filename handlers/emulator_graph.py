"""The emulated Graph API (development, EMULATOR=1): the WhatsApp client is pointed here instead of Meta.

`GET /emulator/graph/<version>/<media_id>` media metadata, `GET /emulator/graph/media-download/<media_id>` the
bytes, `POST /emulator/graph/<version>/<phone_number_id>/messages` a send or read receipt, answered as Meta
answers (message id, or the Graph error shape when a send breaks a Cloud API limit). Every accepted send is
followed by its status webhooks (sent, delivered, read) to the app's own /webhook.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request, url_for

from handlers.emulator_state import chat_store, deliver_webhook
from handlers.security import EMULATOR_PAGE, csrf
from services import get_services
from whatsapp.emulation import (
    STATUSES,
    check_send,
    digits_of,
    graph_error,
    invalid_token,
    media_metadata,
    missing,
    new_wamid,
    sent_answer,
    status_webhook,
    unknown_object,
)

logger = logging.getLogger(__name__)
bp = Blueprint("emulator_graph", __name__, url_prefix="/emulator/graph")
csrf.exempt(bp)  # the bearer token authorises, as at Meta

Answer = tuple[dict[str, Any], int]


@bp.before_request
def require_token() -> Answer | None:
    token = get_services().settings.whatsapp_token
    if not token or request.headers.get("Authorization") != f"Bearer {token}":
        return invalid_token(), 401
    return None


@bp.after_request
def add_headers(response: Response) -> Response:
    response.headers.update({k: v for k, v in EMULATOR_PAGE.items() if k != "Content-Security-Policy"})
    return response


@bp.get("/<version>/<media_id>")
def media(version: str, media_id: str) -> Answer:
    found = chat_store(get_services()).get_media(media_id)
    if found is None:
        return unknown_object(media_id), 400
    data, mime_type = found
    url = url_for("emulator_graph.media_download", media_id=media_id, ext=1, _external=True)
    return media_metadata(media_id, url, mime_type, data), 200


@bp.get("/media-download/<media_id>")
def media_download(media_id: str) -> Response | Answer:
    found = chat_store(get_services()).get_media(media_id)
    if found is None:
        return graph_error(f"Media '{media_id}' not found", 100, "GraphMethodException"), 404
    data, mime_type = found
    return Response(data, mimetype=mime_type)


@bp.post("/<version>/<phone_number_id>/messages")
def messages(version: str, phone_number_id: str) -> Answer:
    services = get_services()
    if phone_number_id != services.settings.whatsapp_phone_number_id:
        return unknown_object(phone_number_id), 400
    body = request.get_json(silent=True)
    if isinstance(body, dict) and body.get("status") == "read":
        return read_receipt(body)
    store = chat_store(services)
    refused = check_send(body)
    if refused is not None:
        logger.warning("emulator: a send was refused (code %s)", refused["error"]["code"])
        sent: dict[str, Any] = body if isinstance(body, dict) else {}
        to = digits_of(str(sent.get("to", "")))
        if to:
            store.add_error(to, refused["error"], f"Nachricht ({sent.get('type', 'text')})")
            store.set_typing(to, False)
        return refused, 400
    assert isinstance(body, dict)
    to = digits_of(str(body["to"]))
    wamid = new_wamid()
    kind = body.get("type", "text")
    store.add(to, {"id": wamid, "from": "bot", "type": kind, kind: body[kind], "status": "pending", "raw": body})
    store.set_typing(to, False)
    statuses = {}
    for status in STATUSES:
        statuses[status] = deliver_webhook(services, status_webhook(phone_number_id, to, wamid, status,
                                                                    body.get("biz_opaque_callback_data")))
        store.update(wamid, status=status, statuses=statuses)
    return sent_answer(str(body["to"]), wamid), 200


def read_receipt(body: dict[str, Any]) -> Answer:
    """The business read the user's message (blue ticks), optionally showing a typing indicator."""
    message_id = body.get("message_id")
    if not message_id:
        return missing("message_id"), 400
    store = chat_store(get_services())
    record = store.update(str(message_id), status="read")
    if record is None:
        return graph_error("(#100) Invalid parameter", 100, details=f"Message '{message_id}' not found"), 400
    if isinstance(body.get("typing_indicator"), dict):
        store.set_typing(record["chat"], True)
    return {"success": True}, 200
