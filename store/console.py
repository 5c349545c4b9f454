"""What support does to tenants (console and CLI alike): validated profiles, listings, actions, audit."""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store import StoreError
from store.audit import record_audit
from store.banking import find_bic_problem, find_iban_problem, normalise_code
from store.crypto import ContentCipher
from store.models import AuditEntry, InboundMessage, Tenant, utcnow
from store.otp import MAX_FAILURES, open_challenge
from store.tenants import BUSINESS_PHONE, add_tenant

logger = logging.getLogger(__name__)


# --- tenant profile -----------------------------------------------------------------------------

TEXT_LIMITS = {"company": 200, "street": 200, "postal_code": 20, "city": 100, "tax_number": 40, "vat_id": 40,
               "iban": 34, "bic": 11, "email": 200, "business_phone": 30}
REQUIRED = frozenset({"company", "street", "postal_code", "city", "iban", "email"})
NUMBER_BOUNDS: dict[str, tuple[type, int, int, bool]] = {  # type, min, max, required
    "hourly_rate": (Decimal, 0, 10000, False), "vat_rate": (Decimal, 0, 100, True),
    "payment_terms_days": (int, 0, 365, True)}
PATTERNS = {"email": re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"), "business_phone": BUSINESS_PHONE}
PROFILE_FIELDS = (*TEXT_LIMITS, *NUMBER_BOUNDS, "language", "small_business")


class InvalidProfile(StoreError):
    """Field name -> reason ('required', 'too_long', 'invalid'; 'mismatch': a BIC of another bank than the IBAN's)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid profile: " + ", ".join(f"{k} {v}" for k, v in errors.items()))
        self.errors = errors


def _clean_text(key: str, raw: object) -> tuple[str | None, str | None]:
    value = " ".join(str(raw or "").split())
    if key in ("iban", "bic"):
        value = normalise_code(value)
    if not value:
        return None, "required" if key in REQUIRED else None
    if len(value) > TEXT_LIMITS[key]:
        return None, "too_long"
    if key == "iban":  # the same IBAN rule as the account page (store.banking)
        return (None, "invalid") if find_iban_problem(value) else (value, None)
    if key == "bic":  # its bank is compared with the IBAN's in clean_profile and update_tenant
        return (None, "invalid") if find_bic_problem(value) else (value, None)
    pattern = PATTERNS.get(key)
    return (None, "invalid") if pattern and not pattern.fullmatch(value) else (value, None)


def _clean_number(key: str, raw: object) -> tuple[Decimal | int | None, str | None]:
    kind, low, high, required = NUMBER_BOUNDS[key]
    text = str(raw if raw is not None else "").strip().replace(",", ".")
    if not text:
        return None, "required" if required else None
    try:
        value: Decimal | int = kind(text)
        in_bounds = low <= value <= high  # NaN raises here
    except (InvalidOperation, ValueError):
        return None, "invalid"
    return (value, None) if in_bounds else (None, "invalid")


def clean_profile(raw: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
    """Validated profile values; `partial` checks only the fields given. Raises InvalidProfile."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in PROFILE_FIELDS:
        if partial and key not in raw:
            continue
        value: Any
        if key in TEXT_LIMITS:
            value, error = _clean_text(key, raw.get(key))
        elif key in NUMBER_BOUNDS:
            value, error = _clean_number(key, raw.get(key))
        elif key == "language":
            value = str(raw.get(key) or "de")
            error = None if value in ("de", "en") else "invalid"
        else:
            value, error = raw.get(key) in (True, "on", "1", "true", "yes"), None
        if error:
            errors[key] = error
        else:
            clean[key] = value
    if not partial and not (clean.get("tax_number") or clean.get("vat_id")):
        errors.setdefault("tax_number", "required")  # §14 UStG: one of both
    if clean.get("bic") and clean.get("iban") and find_bic_problem(clean["bic"], clean["iban"]) == "mismatch":
        errors["bic"] = "mismatch"
    if errors:
        raise InvalidProfile(errors)
    return clean


# --- what staff do to tenants -------------------------------------------------------------------


@dataclass(frozen=True)
class TenantRow:
    id: int
    company: str
    city: str
    verified: bool
    active: bool
    last_activity: dt.datetime | None


@dataclass(frozen=True)
class MessageRow:
    """An inbound message as support may see it: metadata, never content."""

    received_at: dt.datetime
    kind: str
    state: str
    outcome: str | None
    error_code: str | None
    attempts: int


def list_tenants(session: Session) -> list[TenantRow]:
    """All tenants with their verification state and last activity (newest message or account use)."""
    latest = (select(InboundMessage.tenant_id, func.max(InboundMessage.received_at).label("last"))
              .group_by(InboundMessage.tenant_id).subquery())
    rows = session.execute(select(Tenant.id, Tenant.company, Tenant.city, Tenant.verified, Tenant.active,
                                  Tenant.last_activity_at, latest.c.last)
                           .outerjoin(latest, latest.c.tenant_id == Tenant.id).order_by(Tenant.company, Tenant.id))
    return [TenantRow(r.id, r.company, r.city, r.verified, r.active,
                      max((t for t in (r.last_activity_at, r.last) if t is not None), default=None)) for r in rows]


def create_tenant(session: Session, cipher: ContentCipher, actor: str, phone: str, profile: dict[str, Any]) -> int:
    """Register a tenant (unverified). Raises InvalidPhone or PhoneTaken (store.tenants)."""
    tenant = add_tenant(session, cipher, phone, **profile)
    record_audit(session, actor, "tenant_created", tenant.id)
    return tenant.id


def update_tenant(session: Session, actor: str, tenant_id: int, changes: Mapping[str, Any]) -> list[str]:
    """Apply cleaned profile changes; returns the names of the fields that really changed."""
    tenant = session.get_one(Tenant, tenant_id)
    changed = sorted(k for k, v in changes.items() if getattr(tenant, k) != v)
    for key in changed:
        setattr(tenant, key, changes[key])
    if not (tenant.tax_number or tenant.vat_id):
        raise InvalidProfile({"tax_number": "required"})
    if {"iban", "bic"} & set(changed) and find_bic_problem(tenant.bic, tenant.iban) == "mismatch":
        raise InvalidProfile({"bic": "mismatch"})
    if changed:
        record_audit(session, actor, "tenant_updated", tenant_id, fields=changed)
    return changed


def set_tenant_active(session: Session, actor: str, tenant_id: int, active: bool) -> bool:
    """Disable or enable a tenant's number; returns whether anything changed."""
    tenant = session.get_one(Tenant, tenant_id)
    if tenant.active == active:
        return False
    tenant.active = active
    record_audit(session, actor, "tenant_enabled" if active else "tenant_disabled", tenant_id)
    return True


def reset_locked_challenge(session: Session, actor: str, tenant_id: int) -> bool:
    """Close a verification locked by wrong codes, so that a new code can be sent; False if none is locked."""
    challenge = open_challenge(session, tenant_id)
    if challenge is None or challenge.failures < MAX_FAILURES:
        return False
    challenge.consumed_at = utcnow()
    record_audit(session, actor, "challenge_reset", tenant_id)
    return True


def recent_messages(session: Session, tenant_id: int, limit: int = 50) -> list[MessageRow]:
    rows = session.execute(select(InboundMessage.received_at, InboundMessage.kind, InboundMessage.state,
                                  InboundMessage.outcome, InboundMessage.error_code, InboundMessage.attempts)
                           .where(InboundMessage.tenant_id == tenant_id)
                           .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(limit))
    return [MessageRow(r.received_at, r.kind.value, r.state.value, r.outcome.value if r.outcome else None,
                       r.error_code, r.attempts) for r in rows]


def list_audit(session: Session, tenant_id: int | None = None, limit: int = 200) -> list[AuditEntry]:
    """Audit entries, newest first (of one tenant when given)."""
    query = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    if tenant_id is not None:
        query = query.where(AuditEntry.tenant_id == tenant_id)
    return list(session.scalars(query))
