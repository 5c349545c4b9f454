"""Each reply of a conversation turn goes out at most once, whatever retries the turn takes.

A reply is recorded (inbound message id + slot, state PENDING) before it is sent; the send carries the record's id
as `biz_opaque_callback_data`. WhatsApp's answer (the message id) marks it SENT. When that answer is lost (a read
timeout, a broken connection, a 5xx other than 503, or a worker killed while sending), the send may or may not have
happened: the reply stays PENDING until the status webhook of the message, which carries the same callback data,
settles it (conversation.intake calls `settle_statuses`). Nothing is sent again while that can still come:

- a reply that is SENT is never sent again; a retried turn gets its recorded message id back;
- a PENDING one is waited for, up to REPLY_SETTLE_SECONDS after it went out (its status webhook normally comes
  within seconds); still unsettled then, it is taken as lost and sent once more, at most once (so a reply is sent
  twice only if WhatsApp took the first send and its status webhook did not arrive within that time);
- a send WhatsApp refused (a Graph error, 429/503 included) or that never left (no connection) is not a send: its
  record is dropped, and the turn's retry sends it as new.
"""
from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services import Services
from store.db import execute_count
from store.models import OutboundReply, OutboundState, utcnow
from whatsapp import SendUncertain, WhatsAppError
from whatsapp.payloads import Status

logger = logging.getLogger(__name__)

ANSWER = "answer"  # the slot of a turn's one answer (the reply, or the apology when the turn fails)
MAX_SENDS = 2  # the first send, and one more when its outcome never settled
POLL_SECONDS = 0.25
CALLBACK_PREFIX = "sr1"  # callback data of ours: sr1-<record id>-<keyed tag>


@dataclass(frozen=True)
class Record:
    id: int
    state: OutboundState
    sends: int
    wamid: str | None
    updated_at: float  # epoch seconds of the last send


def callback_data(services: Services, record_id: int) -> str:
    """The send's `biz_opaque_callback_data`: the record id with a keyed tag, so no other sender's data matches."""
    return f"{CALLBACK_PREFIX}-{record_id}-{tag(services, record_id)}"


def tag(services: Services, record_id: int) -> str:
    return services.cipher.pseudonym(f"outbound/{record_id}")[:16]


def parse_callback_data(services: Services, data: str | None) -> int | None:
    """The record id in callback data of ours, else None."""
    parts = (data or "").split("-")
    if len(parts) != 3 or parts[0] != CALLBACK_PREFIX or not parts[1].isdigit():
        return None
    record_id = int(parts[1])
    return record_id if hmac.compare_digest(parts[2], tag(services, record_id)) else None


def deliver(services: Services, inbound_id: int, send: Callable[[str], str], slot: str = ANSWER) -> str | None:
    """Send a reply of the turn of `inbound_id` at most once; `send(callback_data)` sends it and returns WhatsApp's
    message id. Returns the message id, also of an earlier send that went out; None when a send went out whose id is
    unknown (never settled). Raises what `send` raised when WhatsApp refused it or it never left (then nothing was
    sent), and SendUncertain when a send's outcome is still open (the turn's retry settles it)."""
    record, created = open_record(services, inbound_id, slot)
    if created:
        return attempt(services, record, send)
    if record.state is OutboundState.SENT:
        return record.wamid
    settled = await_settled(services, record.id, record.updated_at + services.settings.reply_settle_seconds)
    if settled is not None:
        return settled.wamid
    resent = claim_resend(services, record)
    if resent is None:
        logger.warning("reply %s of inbound %s never settled; not sent again", slot, inbound_id)
        return None
    return attempt(services, resent, send)


def attempt(services: Services, record: Record, send: Callable[[str], str]) -> str | None:
    """One send of a recorded reply, then its outcome: SENT, dropped (refused: nothing went out), or settled later."""
    try:
        wamid = send(callback_data(services, record.id))
    except SendUncertain as exc:
        logger.warning("reply %s: %s; waiting for its status webhook", record.id, exc.reason)
        settled = await_settled(services, record.id, time.time() + services.settings.reply_settle_seconds)
        if settled is not None:
            return settled.wamid
        resent = claim_resend(services, record)
        if resent is None:
            raise
        return attempt(services, resent, send)
    except WhatsAppError:  # refused by WhatsApp, or never sent: no send happened
        drop_record(services, record.id)
        raise
    mark_sent(services, record.id, wamid)
    return wamid


def open_record(services: Services, inbound_id: int, slot: str) -> tuple[Record, bool]:
    """The reply's record, created PENDING if there is none yet; True when this call created it."""
    with services.db.session() as session:
        existing = session.scalar(select(OutboundReply).where(OutboundReply.inbound_id == inbound_id,
                                                              OutboundReply.slot == slot))
        if existing is not None:
            return to_record(services, existing), False
    try:
        with services.db.session() as session:
            now = utcnow()
            row = OutboundReply(inbound_id=inbound_id, slot=slot, state=OutboundState.PENDING, sends=1,
                                created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            return to_record(services, row), True
    except IntegrityError:  # another try of the same turn recorded it first (unique inbound id + slot)
        with services.db.session() as session:
            existing = session.scalar(select(OutboundReply).where(OutboundReply.inbound_id == inbound_id,
                                                                  OutboundReply.slot == slot))
            if existing is None:
                raise
            return to_record(services, existing), False


def to_record(services: Services, row: OutboundReply) -> Record:
    wamid = services.cipher.open_field(row.wamid_sealed, f"outbound/{row.id}") if row.wamid_sealed else None
    return Record(row.id, row.state, row.sends, wamid, row.updated_at.timestamp())


def load_record(services: Services, record_id: int) -> Record | None:
    with services.db.session() as session:
        row = session.get(OutboundReply, record_id)
        return to_record(services, row) if row is not None else None


def await_settled(services: Services, record_id: int, deadline: float) -> Record | None:
    """Wait (polling the database) until the reply is SENT or the deadline passes; the SENT record, else None."""
    while True:
        record = load_record(services, record_id)
        if record is None or record.state is OutboundState.SENT:
            return record
        if time.time() >= deadline:
            return None
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.time())))


def claim_resend(services: Services, record: Record) -> Record | None:
    """Take the one more send of a reply that never settled; None when it was sent twice already (or another try
    took it)."""
    if record.sends >= MAX_SENDS:
        return None
    with services.db.session() as session:
        claimed = execute_count(session, update(OutboundReply).where(
            OutboundReply.id == record.id, OutboundReply.state == OutboundState.PENDING,
            OutboundReply.sends == record.sends).values(sends=record.sends + 1, updated_at=utcnow()))
    if not claimed:
        return None
    logger.warning("reply %s never settled within %s s: sending it once more", record.id,
                   services.settings.reply_settle_seconds)
    return Record(record.id, OutboundState.PENDING, record.sends + 1, None, time.time())


def mark_sent(services: Services, record_id: int, wamid: str | None) -> None:
    values: dict[str, object] = {"state": OutboundState.SENT, "updated_at": utcnow()}
    if wamid:
        values["wamid_sealed"] = services.cipher.seal_field(wamid, f"outbound/{record_id}")
    with services.db.session() as session:
        session.execute(update(OutboundReply).where(OutboundReply.id == record_id).values(**values))


def drop_record(services: Services, record_id: int) -> None:
    with services.db.session() as session:
        session.execute(delete(OutboundReply).where(OutboundReply.id == record_id,
                                                    OutboundReply.state == OutboundState.PENDING))


def answer_state(services: Services, inbound_id: int, wait: bool = True) -> OutboundState | None:
    """Where the turn's answer stands: SENT, PENDING (its send may have happened and did not settle in time), or None
    (not sent). With `wait`, a PENDING answer is first waited for until its settle time is over."""
    with services.db.session() as session:
        row = session.scalar(select(OutboundReply).where(OutboundReply.inbound_id == inbound_id,
                                                         OutboundReply.slot == ANSWER))
        if row is None:
            return None
        record = to_record(services, row)
    if record.state is OutboundState.PENDING and wait:
        settled = await_settled(services, record.id, record.updated_at + services.settings.reply_settle_seconds)
        return OutboundState.SENT if settled is not None else OutboundState.PENDING
    return record.state


def settle_statuses(services: Services, session: Session, statuses: Iterable[Status]) -> int:
    """Status webhooks of our sends settle replies whose answer was lost: WhatsApp took them. Returns how many."""
    found = {record_id: status.id for status in statuses
             if (record_id := parse_callback_data(services, status.biz_opaque_callback_data)) is not None}
    if not found:
        return 0
    pending = session.scalars(select(OutboundReply.id).where(OutboundReply.id.in_(found),
                                                            OutboundReply.state == OutboundState.PENDING)).all()
    for record_id in pending:
        session.execute(update(OutboundReply).where(OutboundReply.id == record_id).values(
            state=OutboundState.SENT, updated_at=utcnow(),
            wamid_sealed=services.cipher.seal_field(found[record_id], f"outbound/{record_id}")))
    if pending:
        logger.info("status webhooks settled %d replies", len(pending))
    return len(pending)
