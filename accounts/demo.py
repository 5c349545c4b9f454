"""The demo business `flask serve` registers in development, so the emulator has a verified number to chat as."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.profiles import read_new_profile
from accounts.tenants import add_tenant, normalise_phone
from store.audit import record_audit
from store.crypto import ContentCipher
from store.models import Tenant

DEMO_PHONE = "+4915100000000"  # +49 151 00000000
DEMO_PROFILE = {"company": "Demo Elektro GmbH", "street": "Musterstraße 1", "postal_code": "50667", "city": "Köln",
                "tax_number": "217/5937/0123", "iban": "DE89370400440532013000", "email": "demo@example.de",
                "business_phone": "0221 123456", "hourly_rate": "58", "vat_rate": "19", "payment_terms_days": "14",
                "language": "de"}


def find_tenant_by_phone(session: Session, cipher: ContentCipher, phone: str) -> int | None:
    """The id of the tenant with this WhatsApp number (looked up by its pseudonym), or None."""
    pseudonym = cipher.pseudonym(normalise_phone(phone))
    return session.scalar(select(Tenant.id).where(Tenant.phone_hmac == pseudonym))


def ensure_demo_tenant(session: Session, cipher: ContentCipher, actor: str) -> tuple[int, bool]:
    """The demo business's tenant id, registered (verified) when no tenant has its number yet; and whether it
    was registered now."""
    existing = find_tenant_by_phone(session, cipher, DEMO_PHONE)
    if existing is not None:
        return existing, False
    tenant = add_tenant(session, cipher, DEMO_PHONE, **read_new_profile(DEMO_PROFILE), verified=True)
    record_audit(session, actor, "tenant_created", tenant.id, verified=True, auto_issue=False)
    return tenant.id, True
