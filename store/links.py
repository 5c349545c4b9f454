"""Links by token: invoice magic links, the tenant's login and export links; only token hashes are stored."""
from __future__ import annotations

import datetime as dt
import enum
import secrets

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from store.crypto import hash_token
from store.db import execute_count
from store.models import Invoice, InvoiceState, LinkPurpose, LoginLink, MagicLink, Tenant, utcnow

LOGIN_TTL = dt.timedelta(minutes=15)


class LinkState(str, enum.Enum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"


def create_magic_link(session: Session, invoice_id: str, expires_at: dt.datetime, replace: bool = True) -> str:
    """A new token (shown once); it replaces every earlier link of the invoice unless `replace` is False (a
    draft's previews: each message that showed the draft keeps a working link until the draft is decided)."""
    if replace:
        session.execute(delete(MagicLink).where(MagicLink.invoice_id == invoice_id))
    token = secrets.token_urlsafe(32)
    session.add(MagicLink(token_hash=hash_token(token), invoice_id=invoice_id, expires_at=expires_at))
    return token


def find_link(session: Session, token: str, draft: bool = False) -> tuple[LinkState, MagicLink | None]:
    """Look a token up by its hash; an expired or used link, or gone content, is EXPIRED.

    Download links (draft=False) and draft previews (draft=True) never stand in for each other: a link to a draft
    (or to a discarded one, which never got a number) is UNKNOWN as a download link; as a preview link, one whose
    invoice is no longer a draft (issued or discarded) is EXPIRED.
    """
    if not token or len(token) > 100:
        return LinkState.UNKNOWN, None
    link = session.scalar(select(MagicLink).where(MagicLink.token_hash == hash_token(token)))
    if link is None:
        return LinkState.UNKNOWN, None
    invoice = session.get(Invoice, link.invoice_id)
    if not draft and invoice is not None and (invoice.state is InvoiceState.DRAFT or invoice.number is None):
        return LinkState.UNKNOWN, None
    if draft:
        gone = invoice is None or invoice.state is not InvoiceState.DRAFT
    else:
        gone = invoice is None or invoice.state is InvoiceState.DELETED
    if link.used_at or link.expires_at <= utcnow() or gone:
        return LinkState.EXPIRED, link
    return LinkState.VALID, link


def create_login_link(session: Session, tenant_id: int, now: dt.datetime | None = None,
                      purpose: LinkPurpose = LinkPurpose.LOGIN, ttl: dt.timedelta = LOGIN_TTL) -> str:
    """A new single-use token (shown once; login: 15 minutes); the tenant's stale links are dropped."""
    now = now or utcnow()
    stale = or_(and_(LoginLink.used_at.is_(None), LoginLink.expires_at <= now),
                LoginLink.used_at <= now - dt.timedelta(days=1))
    session.execute(delete(LoginLink).where(LoginLink.tenant_id == tenant_id, stale))
    token = secrets.token_urlsafe(32)
    session.add(LoginLink(token_hash=hash_token(token), tenant_id=tenant_id, expires_at=now + ttl, purpose=purpose))
    return token


def find_login_link(session: Session, token: str, now: dt.datetime | None = None,
                    purpose: LinkPurpose = LinkPurpose.LOGIN) -> LoginLink | None:
    """The unused, unexpired link of an active tenant, without side effects (safe for GET)."""
    if not token or len(token) > 100:
        return None
    link = session.scalar(select(LoginLink).where(LoginLink.token_hash == hash_token(token),
                                                  LoginLink.purpose == purpose))
    if link is None or link.used_at is not None or link.expires_at <= (now or utcnow()):
        return None
    tenant = session.get(Tenant, link.tenant_id)
    return link if tenant is not None and tenant.active else None


def redeem_login_link(session: Session, token: str, now: dt.datetime | None = None,
                      purpose: LinkPurpose = LinkPurpose.LOGIN) -> LoginLink | None:
    """Mark a valid link used (atomically: two clicks cannot both win) and return it."""
    now = now or utcnow()
    link = find_login_link(session, token, now, purpose)
    if link is None:
        return None
    claim = update(LoginLink).where(LoginLink.id == link.id, LoginLink.used_at.is_(None)).values(used_at=now)
    return link if execute_count(session, claim) == 1 else None
