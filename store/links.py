"""Magic links: random tokens of 256 bits, only their hash stored."""
from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store.crypto import hash_token
from store.models import Invoice, InvoiceState, MagicLink, utcnow


class LinkState(str, enum.Enum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"


def create_magic_link(session: Session, invoice_id: str, expires_at: dt.datetime) -> str:
    """Replace any earlier link of the invoice and return the new token (shown once)."""
    session.execute(delete(MagicLink).where(MagicLink.invoice_id == invoice_id))
    token = secrets.token_urlsafe(32)
    session.add(MagicLink(token_hash=hash_token(token), invoice_id=invoice_id, expires_at=expires_at))
    return token


def find_link(session: Session, token: str) -> tuple[LinkState, MagicLink | None]:
    """Look a token up by its hash; an expired or used link, or gone content, is EXPIRED."""
    if not token or len(token) > 100:
        return LinkState.UNKNOWN, None
    link = session.scalar(select(MagicLink).where(MagicLink.token_hash == hash_token(token)))
    if link is None:
        return LinkState.UNKNOWN, None
    invoice = session.get(Invoice, link.invoice_id)
    if link.used_at or link.expires_at <= utcnow() or invoice is None or invoice.state is InvoiceState.DELETED:
        return LinkState.EXPIRED, link
    return LinkState.VALID, link
