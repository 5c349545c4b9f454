"""Tenant creation and lookup, with the phone number normalised and pseudonymised."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from store import StoreError
from store.banking import InvalidBankDetails, find_bank_problems, normalise_code
from store.crypto import ContentCipher
from store.models import Tenant

# A business phone as printed on invoices: digits with spaces, /, -, () and an optional leading +
BUSINESS_PHONE = re.compile(r"\+?[0-9(][0-9 ()/-]{3,28}[0-9]")


class InvalidPhone(StoreError):
    def __init__(self, raw: str) -> None:
        super().__init__(f"not a valid phone number: {raw!r} (use E.164, e.g. +4917612345678)")


class PhoneTaken(StoreError):
    def __init__(self) -> None:
        super().__init__("this WhatsApp number already belongs to another tenant")


class TenantGone(StoreError):
    def __init__(self) -> None:
        super().__init__("this tenant was offboarded; its number and profile are deleted")


class SameNumber(StoreError):
    def __init__(self) -> None:
        super().__init__("this is already the tenant's WhatsApp number")


def check_new_number(session: Session, cipher: ContentCipher, tenant_id: int, raw: str,
                     allow_same: bool = False) -> str:
    """E.164 form of a number the tenant may switch to; InvalidPhone, SameNumber or PhoneTaken otherwise."""
    e164 = normalise_phone(raw.strip())
    owner = session.scalar(select(Tenant.id).where(Tenant.phone_hmac == cipher.pseudonym(e164)))
    if owner == tenant_id and not allow_same:
        raise SameNumber()
    if owner is not None and owner != tenant_id:
        raise PhoneTaken()
    return e164


def normalise_phone(raw: str, region: str = "DE") -> str:
    """E.164 form of a number; raise InvalidPhone otherwise."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(raw) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def retention_days_of(tenant: Tenant, cap: int) -> int:
    """The tenant's retention in days (1..30), never above the platform's RETENTION_DAYS."""
    return max(1, min(tenant.retention_days or cap, cap))


def seal_phone(cipher: ContentCipher, e164: str) -> tuple[bytes, str]:
    """(sealed number, pseudonym): the number is kept only encrypted, bound to its pseudonym."""
    pseudonym = cipher.pseudonym(e164)
    return cipher.seal_field(e164, f"phone/{pseudonym}"), pseudonym


def open_phone(cipher: ContentCipher, sealed: bytes | None, pseudonym: str) -> str:
    """The number in clear, for sending to it or showing it to its owner; TenantGone once offboarded."""
    if sealed is None:
        raise TenantGone()
    return cipher.open_field(sealed, f"phone/{pseudonym}")


def add_tenant(session: Session, cipher: ContentCipher, phone: str, **profile: Any) -> Tenant:
    """Create a tenant; the number is stored sealed for replies and looked up only by its pseudonym.

    The IBAN (and the BIC, when given) are checked and normalised here, so no path stores a bad one:
    InvalidBankDetails otherwise.
    """
    sealed, pseudonym = seal_phone(cipher, normalise_phone(phone))
    for key in ("iban", "bic"):
        if profile.get(key) is not None:
            profile[key] = normalise_code(profile[key]) or None
    problems = find_bank_problems(profile.get("iban"), profile.get("bic"))
    if problems:
        raise InvalidBankDetails(problems)
    if session.scalar(select(Tenant.id).where(Tenant.phone_hmac == pseudonym)) is not None:
        raise PhoneTaken()
    for key in ("hourly_rate", "vat_rate"):
        if profile.get(key) is not None:
            profile[key] = Decimal(str(profile[key]))
    tenant = Tenant(phone_sealed=sealed, phone_hmac=pseudonym, **{k: v for k, v in profile.items() if v is not None})
    session.add(tenant)
    session.flush()
    return tenant
