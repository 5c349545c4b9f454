"""Jobs for the bot's own messages: the welcome after verification, the notice to unknown senders and the
security notices of account changes."""
from __future__ import annotations

from conversation import account_notices, notices
from services import get_services


def send_welcome(tenant_id: int) -> None:
    """Job: greet a newly verified number."""
    notices.send_welcome(get_services(), tenant_id)


def send_sender_notice(pseudonym: str) -> bool:
    """Job: tell an unknown sender how to get verified, then forget the number."""
    return notices.send_sender_notice(get_services(), pseudonym)


def send_account_notice(notice_id: int) -> bool:
    """Job: tell the (old) number and the e-mail address of a new number or IBAN."""
    return account_notices.send_account_notice(get_services(), notice_id)
