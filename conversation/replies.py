"""The message being answered, and how the bot answers it in the tenant's language: each reply of a turn goes
through conversation.outbox, so a retried turn never sends it twice."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conversation.outbox import deliver
from conversation.texts import render_text
from services import Services
from store.models import MessageKind


@dataclass(frozen=True)
class Claimed:
    """An inbound message claimed by a job, with what answering it needs (the number only in memory)."""

    inbound_id: int
    wa_message_id: str
    kind: MessageKind
    media_id: str | None
    tenant_id: int
    phone: str
    language: str
    vocabulary: str | None
    hourly_rate: Any
    verified: bool
    text: str | None
    quoted: str | None = None  # the id of the bot message this one replies to (WhatsApp's context.id)
    button: str | None = None  # the id of the pressed reply button
    auto_issue: bool = False  # the tenant issues at once, without a draft
    attempt: int = 1  # which try of the turn this is (the message's claims so far)


def reply(services: Services, claimed: Claimed, key: str, **values: object) -> None:
    send_plain(services, claimed, render_text(key, claimed.language, **values), preview_url=key == "invoice_ready")


def send_plain(services: Services, claimed: Claimed, text: str, preview_url: bool = False) -> None:
    """The turn's answer as a text message, sent at most once."""
    deliver(services, claimed.inbound_id, lambda callback: services.whatsapp.send_text(
        claimed.phone, text, preview_url=preview_url, callback_data=callback))


def send_draft_message(services: Services, claimed: Claimed, body: str, buttons: list[tuple[str, str]]) -> str | None:
    """A reply-button message, sent at most once; returns its WhatsApp id (a reply quoting it targets the draft), None
    when a send went out whose id never became known."""
    footer = render_text("draft_footer", claimed.language)
    return deliver(services, claimed.inbound_id, lambda callback: services.whatsapp.send_buttons(
        claimed.phone, body, buttons, footer=footer, callback_data=callback))
