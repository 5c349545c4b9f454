"""Number verification: send a code (console, CLI, account page), check it (chat, console, CLI)."""
from __future__ import annotations

import logging
from dataclasses import replace

from accounts.otp import VerifyOutcome, VerifyResult, issue_code, verify_code
from services import Services
from store.audit import record_audit
from store.models import Tenant
from store.phones import open_phone

logger = logging.getLogger(__name__)


def send_code(services: Services, tenant_id: int, actor: str, phone: str | None = None) -> None:
    """Issue a code and send it as the authentication template; nothing is kept if sending fails.

    Raises SendLimitReached, ChallengeLocked (accounts.otp) or GraphError (whatsapp)."""
    with services.db.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
        challenge, code = issue_code(session, services.cipher, tenant, phone)
        phone = open_phone(services.cipher, challenge.phone_sealed, challenge.phone_hmac)
        services.whatsapp.send_code_template(phone, services.settings.whatsapp_otp_template, tenant.language, code)
        record_audit(session, actor, "code_sent", tenant_id, new_number=challenge.phone_hmac != tenant.phone_hmac)


def check_code(services: Services, tenant_id: int, code: str, actor: str) -> VerifyResult:
    """Verify a code; failures are counted and committed; `welcome_due` says the caller should greet the number."""
    with services.db.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
        was_verified = tenant.verified
        result = verify_code(session, services.cipher, tenant, code)
        record_audit(session, actor, "code_entered", tenant_id, outcome=result.outcome.value)
    due = result.outcome is VerifyOutcome.VERIFIED and (not was_verified or result.number_changed)
    return replace(result, welcome_due=due)
