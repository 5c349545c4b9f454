"""Webhook intake: resolve senders, insert new message rows (duplicates dropped), claim notices."""
from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Insert, Table, bindparam, or_, select, update
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
    if message.type == "document" and message.document is not None:
        return MessageKind.DOCUMENT
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


def media_id_of(message: Message, kind: MessageKind) -> str | None:
    """The media id of a voice note, an audio file or a document (fetched by the job, never stored by us)."""
    if kind is MessageKind.DOCUMENT and message.document is not None:
        return message.document.id
    return message.audio.id if message.audio is not None else None


def seal_envelope(cipher: ContentCipher, message: Message, kind: MessageKind) -> bytes:
    """The message id (it encodes the sender's number), any text (a document's caption), the pressed button and the
    quoted message's id, sealed until the job is done."""
    envelope = {"wamid": message.id}
    if kind is MessageKind.TEXT and message.text:
        envelope["text"] = message.text.body
    if kind is MessageKind.DOCUMENT and message.document and message.document.caption:
        envelope["text"] = message.document.caption
    button = pressed_button(message) if kind is MessageKind.BUTTON else None
    if button:
        envelope["button"] = button
    if message.context and message.context.id:
        envelope["context"] = message.context.id
    return cipher.seal_field(json.dumps(envelope), f"inbound/{cipher.pseudonym(message.id)}")


def dialect_insert(session: Session) -> Any:
    """INSERT with ON CONFLICT support for the session's database."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@dataclass(slots=True)
class Sender:
    """What the intake needs of a tenant: a few columns, never the whole row (it carries the logo)."""

    id: int
    phone_hmac: str
    wa_user_hmac: str | None
    active: bool
    verified: bool


FIND_SENDERS = select(Tenant.id, Tenant.phone_hmac, Tenant.wa_user_hmac, Tenant.active, Tenant.verified).where(or_(
    Tenant.phone_hmac.in_(bindparam("phones", expanding=True)),
    Tenant.wa_user_hmac.in_(bindparam("users", expanding=True))))


def resolve_tenants(conn: Connection, cipher: ContentCipher, incoming: list[Incoming]) -> list[Sender | None]:
    """Find each sender's tenant by phone pseudonym, else by business-scoped user id pseudonym: one query on the
    two unique indexes. A user id that comes with a tenant's number is kept for messages without a number."""
    phones = {i.phone: cipher.pseudonym(i.phone) for i in incoming if i.phone}
    users = {i.user_id: cipher.pseudonym(i.user_id) for i in incoming if i.user_id}
    found = [Sender(*row) for row in conn.execute(FIND_SENDERS, {"phones": list(phones.values()),
                                                                 "users": list(users.values())})]
    loaded = {t.id: t.wa_user_hmac for t in found}
    by_phone = {t.phone_hmac: t for t in found}
    by_user = {t.wa_user_hmac: t for t in found if t.wa_user_hmac}
    result: list[Sender | None] = []
    for item in incoming:
        tenant = by_phone.get(phones.get(item.phone or "", "")) or by_user.get(users.get(item.user_id or "", ""))
        if tenant is not None and item.phone and item.user_id and tenant.phone_hmac == phones[item.phone]:
            owner = by_user.get(users[item.user_id])
            if owner is None or owner is tenant:  # keep the user id for messages without a number
                tenant.wa_user_hmac = users[item.user_id]
                by_user[users[item.user_id]] = tenant
        result.append(tenant)
    for tenant in found:
        if tenant.wa_user_hmac != loaded[tenant.id]:
            conn.execute(update(Tenant).where(Tenant.id == tenant.id).values(wa_user_hmac=tenant.wa_user_hmac))
    return result


def accepts(tenant: Sender | None, kind: MessageKind) -> bool:
    """Verified active tenants may send anything; a registered, unverified one only text (to type its code)."""
    if tenant is None or not tenant.active:
        return False
    return tenant.verified or kind is MessageKind.TEXT


@functools.cache
def insert_new_messages(dialect: str) -> Insert:
    """INSERT of message rows that skips ids already stored and returns (id, tenant_id) of the new ones; built
    once, so SQLAlchemy compiles it once (Core on the table: no ORM objects per row)."""
    table = cast(Table, InboundMessage.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=["wa_message_hmac"]).returning(
        table.c.id, table.c.tenant_id)


def is_stale(message: Message, now: dt.datetime, max_age: dt.timedelta) -> bool:
    """Older than WhatsApp's redelivery window (or without a readable timestamp, which Meta always sends): not a
    delivery Meta can still be retrying, so a replay of a signed body; such a message is never processed."""
    try:
        sent = dt.datetime.fromtimestamp(int(message.timestamp or ""), dt.UTC)
    except (ValueError, OverflowError, OSError):
        return True
    return sent < now - max_age


@dataclass(frozen=True)
class Accepted:
    """What a webhook body left to do: new message rows to process, notices due; counts for the answer."""

    messages: int
    new_ids: list[tuple[int, int]]  # (inbound message id, tenant id) in arrival order
    notices: list[str]
    statuses: int
    stale: int = 0  # messages older than the redelivery window, dropped unseen


def accept_webhook(services: Services, body: WebhookBody) -> Accepted:
    """Store every accepted new message (metadata, text sealed); claim notices for the rest. Enqueues nothing.
    Messages older than WEBHOOK_MAX_AGE_HOURS are dropped before anything is looked up or stored."""
    incoming = iter_incoming(body)
    now = utcnow()
    max_age = dt.timedelta(hours=services.settings.webhook_max_age_hours)
    fresh = [item for item in incoming if not is_stale(item.message, now, max_age)]
    rows: list[dict[str, Any]] = []
    notices: list[str] = []
    new: list[tuple[int, int]] = []
    strangers: list[str] = []  # numbers of senders we do not serve (yet): they may be due a notice
    if fresh:
        # Each statement commits on its own (one INSERT of all rows): no BEGIN/COMMIT round trips on the hot path.
        with services.db.autocommit() as conn:
            for item, tenant in zip(fresh, resolve_tenants(conn, services.cipher, fresh), strict=True):
                kind = classify(item.message)
                if tenant is None or not accepts(tenant, kind):
                    strangers += [item.phone] if item.phone else []
                    continue
                rows.append({
                    "wa_message_hmac": services.cipher.pseudonym(item.message.id), "tenant_id": tenant.id,
                    "kind": kind, "media_id": media_id_of(item.message, kind),
                    "state": InboundState.RECEIVED, "attempts": 0, "received_at": now, "updated_at": now,
                    "body_sealed": seal_envelope(services.cipher, item.message, kind),
                })
            if rows:
                stmt = insert_new_messages(conn.dialect.name)
                returned = conn.execute(stmt, rows if len(rows) > 1 else rows[0])
                new = sorted((row.id, row.tenant_id) for row in returned)  # ids grow in arrival order
    if strangers:
        with services.db.session() as session:
            insert = dialect_insert(session)
            notices = [due for phone in strangers if (due := claim_notice(session, services, phone, insert))]
    statuses = [s for e in body.entry for c in e.changes for s in c.value.statuses]
    if any(s.biz_opaque_callback_data for s in statuses):  # a reply whose send went unanswered is settled
        with services.db.session() as session:
            settle_statuses(services, session, statuses)
    return Accepted(len(incoming), new, notices, len(statuses), len(incoming) - len(fresh))
