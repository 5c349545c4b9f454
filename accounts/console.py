"""What support does to tenants (console and CLI alike): validated profiles, listings, actions, audit."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.account import HeldBankChange, hold_bank_change
from accounts.otp import MAX_FAILURES, open_challenge
from accounts.pricelist import delete_price_item, import_price_csv, save_price_item
from accounts.profiles import check_profile, read_profile
from accounts.tenants import add_tenant
from store.audit import record_audit
from store.crypto import ContentCipher
from store.models import AuditEntry, InboundMessage, PriceItem, Tenant, utcnow

logger = logging.getLogger(__name__)


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
    """Register a tenant (unverified). Raises InvalidPhone or PhoneTaken (accounts.tenants)."""
    tenant = add_tenant(session, cipher, phone, **profile)
    record_audit(session, actor, "tenant_created", tenant.id)
    return tenant.id


def update_tenant(session: Session, actor: str, tenant_id: int,
                  form: Mapping[str, object]) -> tuple[list[str], HeldBankChange | None]:
    """Validate the profile fields the form has and apply them; returns the names of those that really changed,
    and a new IBAN of a verified tenant, held back until the code sent to its number confirms it
    (accounts.onboarding.request_bank_change).

    Raises ProfileInvalid (accounts.profiles), and then nothing has changed.
    """
    tenant = session.get_one(Tenant, tenant_id)
    changes = read_profile(form, tenant.country, partial=True)
    check_profile(*(changes.get(key, getattr(tenant, key)) for key in ("tax_number", "vat_id", "iban", "bic")))
    held = hold_bank_change(tenant, changes)
    changed = sorted(k for k, v in changes.items() if getattr(tenant, k) != v)
    for key in changed:
        setattr(tenant, key, changes[key])
    if changed:
        record_audit(session, actor, "tenant_updated", tenant_id, fields=changed)
    return changed, held


def set_tenant_active(session: Session, actor: str, tenant_id: int, active: bool) -> bool:
    """Disable or enable a tenant's number; returns whether anything changed."""
    tenant = session.get_one(Tenant, tenant_id)
    if tenant.active == active:
        return False
    tenant.active = active
    record_audit(session, actor, "tenant_enabled" if active else "tenant_disabled", tenant_id)
    return True


def set_auto_issue(session: Session, actor: str, tenant_id: int, auto_issue: bool) -> bool:
    """Issue invoices at once (no draft first) or not; returns whether anything changed. The account page uses
    it too, with the tenant as actor."""
    tenant = session.get_one(Tenant, tenant_id)
    if tenant.auto_issue == auto_issue:
        return False
    tenant.auto_issue = auto_issue
    record_audit(session, actor, "tenant_updated", tenant_id, fields=["auto_issue"])
    return True


def save_tenant_price(session: Session, actor: str, tenant_id: int, form: Mapping[str, str]) -> PriceItem:
    """Add or update one price list entry from a form (description, unit, unit_price, vat_rate).

    Raises PriceListError (accounts.price_entries), and then nothing has changed.
    """
    session.get_one(Tenant, tenant_id)
    item = save_price_item(session, tenant_id, form.get("description", ""), form.get("unit", ""),
                           form.get("unit_price", ""), form.get("vat_rate", ""))
    record_audit(session, actor, "price_item_saved", tenant_id)
    return item


def delete_tenant_price(session: Session, actor: str, tenant_id: int, item_id: int) -> bool:
    """Delete one of the tenant's price list entries; False when it has no such entry."""
    deleted = delete_price_item(session, tenant_id, item_id)
    if deleted:
        record_audit(session, actor, "price_item_deleted", tenant_id)
    return deleted


def import_tenant_prices(session: Session, actor: str, tenant_id: int, text: str, replace: bool) -> int:
    """Import a CSV price list, all or nothing (PriceListError names the bad line); returns the entries read."""
    session.get_one(Tenant, tenant_id)
    count = import_price_csv(session, tenant_id, text, replace)
    record_audit(session, actor, "price_list_imported", tenant_id, entries=count, replace=replace)
    return count


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
