"""Webhook intake: resolve senders, insert new message rows (duplicates dropped), enqueue ids."""
from __future__ import annotations

import logging
from typing import Any

import redis
from sqlalchemy import Insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services import Services
from store.crypto import ContentCipher
from store.models import InboundMessage, InboundState, MessageKind, Tenant, utcnow
from whatsapp.payloads import Incoming, Message, WebhookBody, iter_incoming
from workers.queue import enqueue_processing

logger = logging.getLogger(__name__)


def classify(message: Message) -> MessageKind:
    if message.type in ("audio", "voice") and message.audio is not None:
        return MessageKind.VOICE if message.audio.voice else MessageKind.AUDIO
    if message.type == "text":
        return MessageKind.TEXT
    return MessageKind.OTHER


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def resolve_tenants(session: Session, cipher: ContentCipher, incoming: list[Incoming]) -> list[Tenant | None]:
    """Find each sender's tenant by phone pseudonym, else by business-scoped user id pseudonym."""
    phones = {i.phone: cipher.pseudonym(i.phone) for i in incoming if i.phone}
    users = {i.user_id: cipher.pseudonym(i.user_id) for i in incoming if i.user_id}
    found = session.scalars(select(Tenant).where(or_(Tenant.phone_hmac.in_(phones.values()),
                                                     Tenant.wa_user_hmac.in_(users.values())))).all()
    by_phone = {t.phone_hmac: t for t in found}
    by_user = {t.wa_user_hmac: t for t in found if t.wa_user_hmac}
    result: list[Tenant | None] = []
    for item in incoming:
        tenant = by_phone.get(phones.get(item.phone or "", "")) or by_user.get(users.get(item.user_id or "", ""))
        if tenant is not None and item.phone and item.user_id and tenant.phone_hmac == phones[item.phone]:
            tenant.wa_user_hmac = users[item.user_id]  # keep the user id for messages without a number
        result.append(tenant)
    return result


def accept_webhook(services: Services, body: WebhookBody) -> dict[str, int]:
    """Store every new message (metadata only) and enqueue those of verified tenants."""
    incoming = iter_incoming(body)
    rows: list[dict[str, Any]] = []
    new: list[Any] = []
    if incoming:
        with services.db.session() as session:
            tenants = resolve_tenants(session, services.cipher, incoming)
            now = utcnow()
            for item, tenant in zip(incoming, tenants, strict=True):
                kind = classify(item.message)
                accepted = tenant is not None and tenant.verified
                rows.append({
                    "wa_message_id": item.message.id, "tenant_id": tenant.id if tenant else None, "kind": kind,
                    "media_id": item.message.audio.id if item.message.audio else None,
                    "state": InboundState.RECEIVED if accepted else InboundState.REJECTED,
                    "received_at": now, "updated_at": now,
                })
            stmt: Insert = _insert(session)(InboundMessage).values(rows)
            stmt = stmt.on_conflict_do_nothing(index_elements=["wa_message_id"])  # type: ignore[attr-defined]
            new = list(session.execute(stmt.returning(InboundMessage.id, InboundMessage.state)).all())
    to_process = [row.id for row in new if row.state is InboundState.RECEIVED]
    enqueued = 0
    for inbound_id in to_process:
        try:
            enqueue_processing(services.queue, services.settings, inbound_id)
            enqueued += 1
        except redis.RedisError as exc:  # the row stays RECEIVED; the sweep re-enqueues it
            logger.error("enqueue of inbound %s failed (%s); left for the sweep", inbound_id, type(exc).__name__)
    statuses = sum(len(c.value.statuses) for e in body.entry for c in e.changes)
    logger.info("webhook: %d messages (%d new, %d enqueued), %d statuses", len(incoming), len(new), enqueued,
                statuses)
    return {"messages": len(incoming), "new": len(new), "enqueued": enqueued, "statuses": statuses}
