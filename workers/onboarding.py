"""Number verification: send a code (console, CLI, account page), check it (chat, console, CLI), welcome."""
from __future__ import annotations

import logging

from services import Services, get_services
from store.audit import record_audit
from store.models import Tenant, utcnow
from store.otp import VerifyOutcome, VerifyResult, issue_code, verify_code
from store.tenants import open_phone, retention_days_of
from workers.texts import render_text

logger = logging.getLogger(__name__)


def send_code(services: Services, tenant_id: int, actor: str, phone: str | None = None) -> None:
    """Issue a code and send it as the authentication template; nothing is kept if sending fails.

    Raises SendLimitReached, ChallengeLocked (store.otp) or GraphError (whatsapp)."""
    with services.db.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
        challenge, code = issue_code(session, services.cipher, tenant, phone)
        phone = open_phone(services.cipher, challenge.phone_sealed, challenge.phone_hmac)
        services.whatsapp.send_code_template(phone, services.settings.whatsapp_otp_template, tenant.language, code)
        record_audit(session, actor, "code_sent", tenant_id, new_number=challenge.phone_hmac != tenant.phone_hmac)


def check_code(services: Services, tenant_id: int, code: str, actor: str) -> VerifyResult:
    """Verify a code; failures are counted and committed; success enqueues the welcome message."""
    from workers.queue import enqueue_welcome

    with services.db.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
        was_verified = tenant.verified
        result = verify_code(session, services.cipher, tenant, code)
        record_audit(session, actor, "code_entered", tenant_id, outcome=result.outcome.value)
    if result.outcome is VerifyOutcome.VERIFIED and (not was_verified or result.number_changed):
        enqueue_welcome(services.queue, tenant_id)
    return result


def send_welcome(tenant_id: int) -> None:
    """Job: the first message after verification (AI Act Art. 50 notice, data handling, usage, help)."""
    services = get_services()
    with services.db.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
        phone, language = open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac), tenant.language
        days = retention_days_of(tenant, services.settings.retention_days)
        tenant.welcomed_at = utcnow()
    base = services.settings.public_base_url.rstrip("/")
    services.whatsapp.send_text(phone, render_text("welcome", language, privacy=f"{base}/datenschutz",
                                                   days=days,
                                                   support=services.settings.support_contact))
