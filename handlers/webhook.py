"""WhatsApp webhook: verify, parse, store metadata, enqueue ids, answer 200."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, request
from pydantic import ValidationError

from conversation.intake import accept_webhook
from handlers.security import csrf
from services import get_services
from whatsapp.payloads import WebhookBody
from whatsapp.signature import verify_signature
from workers.queue import enqueue_accepted

logger = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)
csrf.exempt(bp)  # Meta signs the body (X-Hub-Signature-256); no form token


@bp.get("/webhook")
def verify_subscription() -> tuple[str, int]:
    settings = get_services().settings
    token = request.args.get("hub.verify_token", "")
    if request.args.get("hub.mode") == "subscribe" and settings.whatsapp_verify_token and token == \
            settings.whatsapp_verify_token:
        return request.args.get("hub.challenge", ""), 200
    abort(403)


@bp.post("/webhook")
def receive() -> tuple[dict[str, int], int]:
    services = get_services()
    raw = request.get_data(cache=False)
    if not verify_signature(services.settings.whatsapp_app_secret, raw, request.headers.get("X-Hub-Signature-256")):
        logger.warning("webhook rejected: bad or missing signature")
        abort(401)
    try:
        body = WebhookBody.model_validate_json(raw)
    except ValidationError:
        logger.warning("webhook rejected: body is not a WhatsApp webhook")
        abort(400)
    accepted = accept_webhook(services, body)
    enqueued = enqueue_accepted(services.queue, services.settings, accepted)
    return {"messages": accepted.messages, "new": len(accepted.new_ids), "enqueued": enqueued,
            "statuses": accepted.statuses}, 200
