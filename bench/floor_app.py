"""The webhook at its floor, a contender of bench/webhook_load.py --floor (gunicorn `bench.floor_app:app`).

The real app (create_app, the same settings, hooks and gunicorn), with POST /webhook's view replaced by the least any
web role can do and still keep DESIGN.md's acknowledgement: the signature on the raw bytes, the pydantic parse, per
message one prepared `INSERT ... SELECT` (the tenant found in the same statement) through raw psycopg on one
connection a process, in autocommit (no SQLAlchemy, no pool, no ping, no notices, no sealed envelope beyond the id),
then RQ's rate-limited job for the new rows in one pipeline (workers.queue.enqueue_new_messages), and the answer.
With FLOOR_ENQUEUE=0 it enqueues nothing (the bench's job count then fails, as it should). Not a product path: it
drops checks the real webhook keeps (stale messages, unverified senders' texts, notices, statuses). PostgreSQL only.
"""
from __future__ import annotations

import datetime as dt
import os
from typing import Any

import psycopg
from flask import abort, request

from app import create_app
from conversation.intake import classify, media_id_of, seal_envelope
from services import get_services
from whatsapp.payloads import WebhookBody, iter_incoming
from whatsapp.signature import verify_signature
from workers.queue import enqueue_new_messages

INSERT = """INSERT INTO inbound_messages (wa_message_hmac, tenant_id, kind, media_id, state, attempts, received_at,
    updated_at, body_sealed) SELECT %s, t.id, %s, %s, 'received', 0, %s, %s, %s FROM tenants t
    WHERE t.phone_hmac = %s AND t.active AND t.verified
    ON CONFLICT (wa_message_hmac) DO NOTHING RETURNING id, tenant_id"""

app = create_app()
services = get_services(app)
connections: dict[int, psycopg.Connection[Any]] = {}  # one a process, opened on its first request
ENQUEUE = os.environ.get("FLOOR_ENQUEUE", "1") != "0"


def connection() -> psycopg.Connection[Any]:
    conn = connections.get(os.getpid())
    if conn is None:
        url = services.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = connections[os.getpid()] = psycopg.connect(url, autocommit=True)
    return conn


def receive_at_floor() -> tuple[dict[str, int], int]:
    raw = request.get_data(cache=False)
    if not verify_signature(services.settings.whatsapp_app_secret, raw, request.headers.get("X-Hub-Signature-256")):
        abort(401)
    body = WebhookBody.model_validate_json(raw)
    now = dt.datetime.now(dt.UTC)
    new: list[tuple[int, int]] = []
    for item in iter_incoming(body):
        kind = classify(item.message)
        new += connection().execute(INSERT, (
            services.cipher.pseudonym(item.message.id), kind.value, media_id_of(item.message, kind), now, now,
            seal_envelope(services.cipher, item.message, kind), services.cipher.pseudonym(item.phone or "")),
            prepare=True).fetchall()
    if new and ENQUEUE:
        enqueue_new_messages(services.queue, services.settings, new)
    return {"new": len(new), "enqueued": len(new) if ENQUEUE else 0}, 200


app.view_functions["webhook.receive"] = receive_at_floor
