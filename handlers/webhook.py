"""WhatsApp webhook: verify, parse, store metadata, enqueue ids, answer 200."""
from __future__ import annotations

import hmac
import logging

from flask import Blueprint, Response, abort, request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

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
def verify_subscription() -> Response:
    """Meta's subscription check: the token compared in constant time, the challenge echoed as plain text (never
    as HTML: it is whatever the caller put in the query)."""
    settings = get_services().settings
    token = request.args.get("hub.verify_token", "")
    expected = settings.whatsapp_verify_token
    if not (request.args.get("hub.mode") == "subscribe" and expected
            and hmac.compare_digest(token.encode(), expected.encode())):
        abort(403)
    return Response(request.args.get("hub.challenge", ""), 200, mimetype="text/plain")


@bp.post("/webhook")
def receive() -> tuple[dict[str, int | str], int]:
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
    try:
        accepted = accept_webhook(services, body)
    except (OperationalError, PoolTimeout) as exc:  # unreachable, too slow (DB_*_TIMEOUT) or locked: Meta retries
        logger.error("webhook: database unavailable (%s); answered 503 for Meta to retry", type(exc).__name__)
        return {"error": "database unavailable, retry later"}, 503
    enqueued = enqueue_accepted(services.queue, services.settings, accepted)
    return {"messages": accepted.messages, "new": len(accepted.new_ids), "enqueued": enqueued,
            "statuses": accepted.statuses, "stale": accepted.stale}, 200
