"""The tradesperson's account: single-use login links, pending invoices, profile, logo and number checks."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from accounts.banking import BankDetails
from accounts.logos import LogoRejected, normalise_logo
from accounts.otp import open_challenge
from accounts.profiles import read_profile
from store.crypto import ContentCipher
from store.models import DataKey, Invoice, InvoiceState, LoginLink, MagicLink, Tenant, utcnow
from store.phones import open_phone

logger = logging.getLogger(__name__)

LOGO_MAX_BYTES = 512 * 1024  # of the upload; what is stored is normalised (accounts/logos.py)


@dataclass(frozen=True)
class PendingInvoice:
    id: str
    number: str
    created_at: dt.datetime
    link_expires_at: dt.datetime | None


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
    return [PendingInvoice(row.id, row.number or "", row.created_at, row.expires_at) for row in rows]


def find_downloadable_invoice(session: Session, tenant_id: int, invoice_id: str) -> Invoice | None:
    """The tenant's invoice with content left; None for another tenant's or an unknown id."""
    if len(invoice_id) > 36:
        return None
    return session.scalar(select(Invoice).join(DataKey, DataKey.invoice_id == Invoice.id)
                          .where(Invoice.id == invoice_id, Invoice.tenant_id == tenant_id,
                                 Invoice.state.in_([InvoiceState.ISSUED, InvoiceState.DOWNLOADED])))


def find_pending_number(session: Session, cipher: ContentCipher, tenant: Tenant) -> str | None:
    """The new number a code was sent to and not yet confirmed, if a number change is under way."""
    challenge = open_challenge(session, tenant.id)
    if challenge is None or challenge.phone_hmac == tenant.phone_hmac:
        return None
    return open_phone(cipher, challenge.phone_sealed, challenge.phone_hmac)


def save_logo(session: Session, tenant_id: int, data: bytes) -> str:
    """Store an upload of at most 512 KB that Pillow reads as a PNG or JPEG (judged by its bytes, not its name),
    normalised for the invoice (accounts/logos.py); return the stored type. LogoRejected leaves the old logo."""
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


@dataclass(frozen=True)
class HeldBankChange:
    """A new IBAN taken out of a profile change: it waits for the code sent to the verified number."""

    bank: BankDetails
    email: str  # the address before the change, which is told about it


def hold_bank_change(tenant: Tenant, values: dict[str, Any]) -> HeldBankChange | None:
    """Take a new IBAN (and the BIC given with it) out of validated profile `values` when the tenant's number is
    verified: it applies only once the code sent to that number comes back (accounts.onboarding)."""
    if not tenant.verified or "iban" not in values or values["iban"] == tenant.iban:
        return None
    bank = BankDetails(values.pop("iban"), values.pop("bic", tenant.bic))
    return HeldBankChange(bank, tenant.email)


def update_profile(session: Session, tenant_id: int, form: Mapping[str, str]) -> HeldBankChange | None:
    """Validate everything first, then apply it all but a new IBAN, which is returned to be confirmed by code;
    on ProfileInvalid nothing has changed."""
    tenant = session.get_one(Tenant, tenant_id)
    values = read_profile(form, tenant.country)
    held = hold_bank_change(tenant, values)
    for name, value in values.items():
        setattr(tenant, name, value)
    logger.info("profile of tenant %s updated%s", tenant_id, "; new IBAN waits for its code" if held else "")
    return held
