"""Codes to the tradesperson's phone: number verification (console, CLI, account page) and the confirmation of a
new IBAN; checking them (chat, console, CLI, account page); the security notices such changes leave to send."""
from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy.orm import Session

from accounts.account import HeldBankChange
from accounts.banking import mask_iban
from accounts.otp import Purpose, VerifyOutcome, VerifyResult, issue_code, seal_bank_details, verify_code
from services import Services
from store.audit import record_audit
from store.models import AccountNotice, Tenant
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


def request_bank_change(services: Services, tenant_id: int, actor: str, held: HeldBankChange) -> int:
    """Send a code to the tenant's verified number that confirms the new IBAN (kept sealed in the challenge until
    then; invoices go on naming the old one); returns the notice to send (accounts.AccountNotice id) to the number
    and the address `held` names. Nothing is kept if sending fails.

    Raises SendLimitReached, ChallengeLocked (accounts.otp), WhatsAppError or a requests error."""
    with services.db.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
        challenge, code = issue_code(session, services.cipher, tenant, purpose=Purpose.BANK)
        seal_bank_details(services.cipher, challenge, held.bank)
        notice = add_notice(session, tenant, "bank_requested", detail=mask_iban(held.bank.iban), email=held.email)
        phone = open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac)
        services.whatsapp.send_code_template(phone, services.settings.whatsapp_otp_template, tenant.language, code)
        record_audit(session, actor, "bank_change_requested", tenant_id)
        return notice.id


def check_code(services: Services, tenant_id: int, code: str, actor: str) -> VerifyResult:
    """Verify a code; failures are counted and committed; `welcome_due` says the caller should greet the number,
    `notices` what the caller should send (the old number told of a new one, the number told of a new IBAN)."""
    with services.db.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
        was_verified, old_phone = tenant.verified, (tenant.phone_sealed, tenant.phone_hmac)
        result = verify_code(session, services.cipher, tenant, code)
        record_audit(session, actor, "code_entered", tenant_id, outcome=result.outcome.value)
        notices = []
        if result.number_changed and was_verified:  # an unverified number may be a typo: it is not told
            notices.append(add_notice(session, tenant, "number_changed", phone=old_phone))
        if result.bank_changed:
            record_audit(session, actor, "bank_changed", tenant_id)
            notices.append(add_notice(session, tenant, "bank_changed", detail=mask_iban(tenant.iban)))
        notice_ids = tuple(notice.id for notice in notices)
    due = result.outcome is VerifyOutcome.VERIFIED and (not was_verified or result.number_changed)
    return replace(result, welcome_due=due, notices=notice_ids)


def add_notice(session: Session, tenant: Tenant, event: str, detail: str | None = None,
               phone: tuple[bytes | None, str] | None = None, email: str | None = None) -> AccountNotice:
    """A security notice to send: to `phone` (sealed, pseudonym; default the tenant's number) and `email`
    (default the tenant's address)."""
    sealed, pseudonym = phone if phone is not None else (None, None)
    notice = AccountNotice(tenant_id=tenant.id, event=event, detail=detail, phone_sealed=sealed,
                           phone_hmac=pseudonym if sealed is not None else None, email=email or tenant.email)
    session.add(notice)
    session.flush()
    logger.info("security notice %s for tenant %s", event, tenant.id)
    return notice
