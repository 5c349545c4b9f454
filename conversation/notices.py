"""Messages the bot sends on its own: the welcome after verification, and the 'how to get verified' notice
to unknown or unverified senders (at most one per number and 24 hours)."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from conversation.texts import SENDER_NOTICE, render_text
from services import Services
from store.content import retention_days_of
from store.db import execute_count
from store.models import SenderNotice, Tenant, utcnow
from store.phones import open_phone

logger = logging.getLogger(__name__)

NOTICE_INTERVAL = dt.timedelta(hours=24)


def claim_notice(session: Session, services: Services, phone: str, dialect_insert: Any) -> str | None:
    """Record the pseudonym; return it if a notice is due now (the phone is kept sealed until sent)."""
    pseudonym = services.cipher.pseudonym(phone)
    now = utcnow()
    stmt = dialect_insert(SenderNotice).values(phone_hmac=pseudonym)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["phone_hmac"]))
    due = or_(SenderNotice.last_sent_at.is_(None), SenderNotice.last_sent_at <= now - NOTICE_INTERVAL)
    sealed = services.cipher.seal_field(phone, f"notice/{pseudonym}")
    claimed = execute_count(session, update(SenderNotice).where(SenderNotice.phone_hmac == pseudonym, due)
                            .values(last_sent_at=now, phone_sealed=sealed))
    return pseudonym if claimed else None


def send_sender_notice(services: Services, pseudonym: str) -> bool:
    """Send the notice to the sealed number, then forget the number."""
    with services.db.session() as session:
        notice = session.get(SenderNotice, pseudonym)
        if notice is None or notice.phone_sealed is None:
            return False
        phone = services.cipher.open_field(notice.phone_sealed, f"notice/{pseudonym}")
        services.whatsapp.send_text(phone, SENDER_NOTICE.format(support=services.settings.support_contact))
        notice.phone_sealed = None
    return True


def send_welcome(services: Services, tenant_id: int) -> None:
    """The first message after verification (AI Act Art. 50 notice, data handling, usage, help)."""
    with services.db.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
        phone, language = open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac), tenant.language
        days = retention_days_of(tenant, services.settings.retention_days)
        tenant.welcomed_at = utcnow()
    services.whatsapp.send_text(phone, render_text("welcome", language, days=days,
                                                   privacy=services.settings.public_url("/datenschutz"),
                                                   support=services.settings.support_contact))
