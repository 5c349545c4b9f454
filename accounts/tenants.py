"""Tenant creation and lookup, with the phone number normalised and pseudonymised."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts import AccountError
from accounts.banking import InvalidBankDetails, find_bank_problems, normalise_code
from store.crypto import ContentCipher
from store.models import Tenant
from store.phones import seal_phone

# A business phone as printed on invoices: digits with spaces, /, -, () and an optional leading +
BUSINESS_PHONE = re.compile(r"\+?[0-9(][0-9 ()/-]{3,28}[0-9]")


class InvalidPhone(AccountError):
    def __init__(self, raw: str) -> None:
        super().__init__(f"not a valid phone number: {raw!r} (use E.164, e.g. +4917612345678)")


class PhoneTaken(AccountError):
    def __init__(self) -> None:
        super().__init__("this WhatsApp number already belongs to another tenant")


class SameNumber(AccountError):
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
