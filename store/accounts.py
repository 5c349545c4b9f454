"""The tradesperson's account: single-use login links, pending invoices, profile, logo and number checks."""
from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from store import StoreError
from store.banking import find_bic_problem, find_iban_problem, normalise_code
from store.crypto import ContentCipher, hash_token
from store.db import execute_count
from store.logos import LogoRejected, normalise_logo
from store.models import DataKey, Invoice, InvoiceState, LinkPurpose, LoginLink, MagicLink, Tenant, utcnow
from store.otp import open_challenge
from store.tenants import BUSINESS_PHONE, open_phone

logger = logging.getLogger(__name__)

LOGIN_TTL = dt.timedelta(minutes=15)
LOGO_MAX_BYTES = 512 * 1024  # of the upload; what is stored is normalised (store/logos.py)
PROFILE_FIELDS = ("company", "street", "postal_code", "city", "tax_number", "vat_id", "iban", "bic", "email",
                  "business_phone", "hourly_rate", "vat_rate", "payment_terms_days", "number_format", "language",
                  "retention_days")
FORMATS = {"email": re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"),
           "tax_number": re.compile(r"\d[\d/ ]{8,16}\d"), "vat_id": re.compile(r"[A-Z]{2}[A-Z0-9]{2,12}")}
POSTAL_DE = re.compile(r"\d{5}")
POSTAL_OTHER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]")
VAT_RATES = (Decimal(0), Decimal(7), Decimal(19))
NUMBER_TOKEN = re.compile(r"\{(?:YYYY|YY|MM|N{1,10})\}")
NUMBER_TEXT = re.compile(r"[A-Za-z0-9/_.#-]*")


class ProfileInvalid(StoreError):
    """`errors` maps each bad field to a reason: required, too_long, format, checksum, range, choice or mismatch."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid profile: " + ", ".join(f"{name} ({reason})" for name, reason in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class PendingInvoice:
    id: str
    number: str
    created_at: dt.datetime
    link_expires_at: dt.datetime | None


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


def consume_login_link(session: Session, token: str, now: dt.datetime | None = None) -> int | None:
    """The tenant id of a valid link, which is then used up; None when unknown, used, expired or inactive."""
    link = redeem_login_link(session, token, now)
    return link.tenant_id if link else None


def find_account_tenant(session: Session, tenant_id: int, login_id: int, max_age: dt.timedelta,
                        now: dt.datetime | None = None) -> Tenant | None:
    """The logged-in tenant while its redeemed link (the server-side session record) exists and is fresh."""
    link = session.get(LoginLink, login_id)
    if link is None or link.tenant_id != tenant_id or link.used_at is None:
        return None
    if link.used_at + max_age <= (now or utcnow()):
        return None
    tenant = session.get(Tenant, tenant_id)
    return tenant if tenant is not None and tenant.active else None


def end_account_session(session: Session, login_id: int) -> None:
    """Logout: drop the session record, so a copied session cookie is worthless too."""
    session.execute(delete(LoginLink).where(LoginLink.id == login_id))


def list_pending_invoices(session: Session, tenant_id: int, now: dt.datetime | None = None) -> list[PendingInvoice]:
    """The tenant's issued invoices whose content still exists, newest first (link expiry None once expired)."""
    link = and_(MagicLink.invoice_id == Invoice.id, MagicLink.used_at.is_(None),
                MagicLink.expires_at > (now or utcnow()))
    rows = session.execute(select(Invoice.id, Invoice.number, Invoice.created_at, MagicLink.expires_at)
                           .join(DataKey, DataKey.invoice_id == Invoice.id).outerjoin(MagicLink, link)
                           .where(Invoice.tenant_id == tenant_id, Invoice.state == InvoiceState.ISSUED)
                           .order_by(Invoice.created_at.desc()))
    return [PendingInvoice(*row) for row in rows]


def find_downloadable_invoice(session: Session, tenant_id: int, invoice_id: str) -> Invoice | None:
    """The tenant's invoice with content left; None for another tenant's or an unknown id."""
    if len(invoice_id) > 36:
        return None
    return session.scalar(select(Invoice).join(DataKey, DataKey.invoice_id == Invoice.id)
                          .where(Invoice.id == invoice_id, Invoice.tenant_id == tenant_id,
                                 Invoice.state != InvoiceState.DELETED))


def find_pending_number(session: Session, cipher: ContentCipher, tenant: Tenant) -> str | None:
    """The new number a code was sent to and not yet confirmed, if a number change is under way."""
    challenge = open_challenge(session, tenant.id)
    if challenge is None or challenge.phone_hmac == tenant.phone_hmac:
        return None
    return open_phone(cipher, challenge.phone_sealed, challenge.phone_hmac)


def save_logo(session: Session, tenant_id: int, data: bytes) -> str:
    """Store an upload of at most 512 KB that Pillow reads as a PNG or JPEG (judged by its bytes, not its name),
    normalised for the invoice (store/logos.py); return the stored type. LogoRejected leaves the old logo."""
    if not data:
        raise LogoRejected("missing")
    if len(data) > LOGO_MAX_BYTES:
        raise LogoRejected("too_large")
    logo, mime = normalise_logo(data)
    tenant = session.get_one(Tenant, tenant_id)
    tenant.logo, tenant.logo_mime = logo, mime
    logger.info("logo of tenant %s replaced (%d bytes uploaded, %s, %d bytes stored)", tenant_id, len(data), mime,
                len(logo))
    return mime


def is_valid_number_format(pattern: str) -> bool:
    """Known placeholders ({YYYY}, {YY}, {MM}), exactly one counter {N...}, plain characters around them."""
    counters = re.findall(r"\{N+\}", pattern)
    return (len(pattern) <= 40 and len(counters) == 1
            and NUMBER_TEXT.fullmatch(NUMBER_TOKEN.sub("", pattern)) is not None)


def read_amount(text: str) -> Decimal | None:
    """'58,50' or '58.50' as cents; None when not a finite number."""
    try:
        value = Decimal(text.replace(",", "."))
        return value.quantize(Decimal("0.01"), ROUND_HALF_UP) if value.is_finite() else None
    except InvalidOperation:  # not a number, or too large to hold cents
        return None


def find_field_problem(value: str, limit: int, pattern: re.Pattern[str] | None = None,
                  required: bool = True) -> str | None:
    """None when a text field is fine, else required, too_long or format."""
    if not value:
        return "required" if required else None
    if len(value) > limit:
        return "too_long"
    return "format" if pattern and not pattern.fullmatch(value) else None


def read_profile(form: Mapping[str, str], country: str = "DE") -> dict[str, Any]:
    """Validated, normalised profile values; ProfileInvalid names every bad field."""
    raw = {name: (form.get(name) or "").strip() for name in PROFILE_FIELDS}
    iban, bic = normalise_code(raw["iban"]), normalise_code(raw["bic"])
    vat_id = re.sub(r"\s", "", raw["vat_id"]).upper()
    rate = read_amount(raw["hourly_rate"]) if raw["hourly_rate"] else None
    vat_rate = read_amount(raw["vat_rate"])
    terms = int(raw["payment_terms_days"]) if re.fullmatch(r"\d{1,3}", raw["payment_terms_days"]) else -1
    retention = int(raw["retention_days"] or 30) if re.fullmatch(r"\d{0,2}", raw["retention_days"]) else 0
    problems = {
        "company": find_field_problem(raw["company"], 200), "street": find_field_problem(raw["street"], 200),
        "city": find_field_problem(raw["city"], 100), "email": find_field_problem(raw["email"], 200, FORMATS["email"]),
        "postal_code": find_field_problem(raw["postal_code"], 10, POSTAL_DE if country == "DE" else POSTAL_OTHER),
        "tax_number": find_field_problem(raw["tax_number"], 40, FORMATS["tax_number"], required=not vat_id),
        "vat_id": find_field_problem(vat_id, 20, FORMATS["vat_id"], required=False),
        "business_phone": find_field_problem(raw["business_phone"], 30, BUSINESS_PHONE, required=False),
        "iban": find_iban_problem(iban), "bic": find_bic_problem(bic, iban),
        "hourly_rate": "range" if raw["hourly_rate"] and (rate is None or not 0 <= rate <= 1000) else None,
        "vat_rate": None if vat_rate in VAT_RATES else "choice",
        "payment_terms_days": None if 0 <= terms <= 90 else "range",
        "retention_days": None if 1 <= retention <= 30 else "range",
        "number_format": None if is_valid_number_format(raw["number_format"]) else "format",
        "language": None if raw["language"] in ("de", "en") else "choice",
    }
    errors = {name: problem for name, problem in problems.items() if problem}
    if errors:
        raise ProfileInvalid(errors)
    return {"company": raw["company"], "street": raw["street"], "postal_code": raw["postal_code"],
            "city": raw["city"], "email": raw["email"], "tax_number": raw["tax_number"] or None,
            "vat_id": vat_id or None, "business_phone": raw["business_phone"] or None, "iban": iban,
            "bic": bic or None, "hourly_rate": rate, "vat_rate": vat_rate,
            "small_business": form.get("small_business") in ("on", "1", "true"), "payment_terms_days": terms,
            "number_format": raw["number_format"], "language": raw["language"], "retention_days": retention}


def update_profile(session: Session, tenant_id: int, form: Mapping[str, str]) -> Tenant:
    """Validate everything first, then apply it all; on ProfileInvalid nothing has changed."""
    tenant = session.get_one(Tenant, tenant_id)
    for name, value in read_profile(form, tenant.country).items():
        setattr(tenant, name, value)
    logger.info("profile of tenant %s updated", tenant_id)
    return tenant
