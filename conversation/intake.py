"""Webhook intake: resolve senders, insert new message rows (duplicates dropped), claim notices."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from conversation.notices import claim_notice
from conversation.outbox import settle_statuses
from services import Services
from store.crypto import ContentCipher
from store.models import InboundMessage, InboundState, MessageKind, Tenant, utcnow
from whatsapp.payloads import Incoming, Message, WebhookBody, iter_incoming

logger = logging.getLogger(__name__)


def classify(message: Message) -> MessageKind:
    if message.type in ("audio", "voice") and message.audio is not None:
        return MessageKind.VOICE if message.audio.voice else MessageKind.AUDIO
    if message.type == "text":
        return MessageKind.TEXT
    if pressed_button(message) is not None:
        return MessageKind.BUTTON
    return MessageKind.OTHER


def pressed_button(message: Message) -> str | None:
    """The id of a pressed reply button (interactive button_reply), or a template quick reply's payload."""
    if message.type == "interactive" and message.interactive and message.interactive.button_reply:
        return message.interactive.button_reply.id
    if message.type == "button" and message.button:
        return message.button.payload
    return None


def seal_envelope(cipher: ContentCipher, message: Message, kind: MessageKind) -> bytes:
    """The message id (it encodes the sender's number), any text, the pressed button and the quoted message's id,
    sealed until the job is done."""
    envelope = {"wamid": message.id}
    if kind is MessageKind.TEXT and message.text:
        envelope["text"] = message.text.body
    button = pressed_button(message) if kind is MessageKind.BUTTON else None
    if button:
        envelope["button"] = button
    if message.context and message.context.id:
        envelope["context"] = message.context.id
    return cipher.seal_field(json.dumps(envelope), f"inbound/{cipher.pseudonym(message.id)}")


def dialect_insert(session: Session) -> Any:
    """INSERT with ON CONFLICT support for the session's database."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


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
            owner = by_user.get(users[item.user_id])
            if owner is None or owner is tenant:  # keep the user id for messages without a number
                tenant.wa_user_hmac = users[item.user_id]
                by_user[users[item.user_id]] = tenant
        result.append(tenant)
    return result


def accepts(tenant: Tenant | None, kind: MessageKind) -> bool:
    """Verified active tenants may send anything; a registered, unverified one only text (to type its code)."""
    if tenant is None or not tenant.active:
        return False
    return tenant.verified or kind is MessageKind.TEXT


@dataclass(frozen=True)
class Accepted:
    """What a webhook body left to do: new message rows to process, notices due; counts for the answer."""

    messages: int
    new_ids: list[tuple[int, int]]  # (inbound message id, tenant id) in arrival order
    notices: list[str]
    statuses: int


def accept_webhook(services: Services, body: WebhookBody) -> Accepted:
    """Store every accepted new message (metadata, text sealed); claim notices for the rest. Enqueues nothing."""
    incoming = iter_incoming(body)
    rows: list[dict[str, Any]] = []
    notices: list[str] = []
    new: list[tuple[int, int]] = []
    if incoming:
        with services.db.session() as session:
            insert = dialect_insert(session)
            now = utcnow()
            for item, tenant in zip(incoming, resolve_tenants(session, services.cipher, incoming), strict=True):
                kind = classify(item.message)
                if tenant is None or not accepts(tenant, kind):
                    due = claim_notice(session, services, item.phone, insert) if item.phone else None
                    notices += [due] if due else []
                    continue
                rows.append({
                    "wa_message_hmac": services.cipher.pseudonym(item.message.id), "tenant_id": tenant.id,
                    "kind": kind, "media_id": item.message.audio.id if item.message.audio else None,
                    "state": InboundState.RECEIVED, "received_at": now, "updated_at": now,
                    "body_sealed": seal_envelope(services.cipher, item.message, kind),
                })
            if rows:
                stmt = insert(InboundMessage).values(rows).on_conflict_do_nothing(index_elements=["wa_message_hmac"])
                returned = session.execute(stmt.returning(InboundMessage.id, InboundMessage.tenant_id))
                new = sorted((row.id, row.tenant_id) for row in returned)  # ids grow in arrival order
    statuses = [s for e in body.entry for c in e.changes for s in c.value.statuses]
    if any(s.biz_opaque_callback_data for s in statuses):  # a reply whose send went unanswered is settled
        with services.db.session() as session:
            settle_statuses(services, session, statuses)
    return Accepted(len(incoming), new, notices, len(statuses))
