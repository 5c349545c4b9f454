"""Jobs for the bot's own messages: the welcome after verification and the notice to unknown senders."""
from __future__ import annotations

from conversation import notices
from services import get_services


def send_welcome(tenant_id: int) -> None:
    """Job: greet a newly verified number."""
    notices.send_welcome(get_services(), tenant_id)


def send_sender_notice(pseudonym: str) -> bool:
    """Job: tell an unknown sender how to get verified, then forget the number."""
    return notices.send_sender_notice(get_services(), pseudonym)
