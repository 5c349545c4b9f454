"""Deletion on request, offboarding and data export links: one place for chat, console, account page and CLI."""
from __future__ import annotations

import datetime as dt
import logging

from services import Services
from store.accounts import create_login_link
from store.audit import record_audit
from store.erasure import delete_tenant_content, offboard_tenant
from store.models import DeletionReceipt, DeletionTrigger, LinkPurpose

logger = logging.getLogger(__name__)


def erase_content(services: Services, tenant_id: int, actor: str) -> DeletionReceipt:
    """Delete all of a tenant's content now (trigger: request) and fold the WAL."""
    with services.db.session() as session:
        receipt = delete_tenant_content(session, services.cipher, tenant_id, DeletionTrigger.REQUEST)
        record_audit(session, actor, "content_deleted", tenant_id, receipt=receipt.id)
        session.expunge(receipt)
    services.db.checkpoint()
    return receipt


def offboard(services: Services, tenant_id: int, actor: str) -> DeletionReceipt:
    """Delete the tenant's content and personal data, the number included; the receipt stays."""
    with services.db.session() as session:
        receipt = offboard_tenant(session, services.cipher, tenant_id)
        record_audit(session, actor, "tenant_offboarded", tenant_id, receipt=receipt.id)
        session.expunge(receipt)
    services.db.checkpoint()
    return receipt


def create_export_link(services: Services, tenant_id: int) -> str:
    """A single-use link to the tenant's data export (valid EXPORT_HOURS); returns the URL."""
    ttl = dt.timedelta(hours=services.settings.export_hours)
    with services.db.session() as session:
        token = create_login_link(session, tenant_id, purpose=LinkPurpose.EXPORT, ttl=ttl)
    return f"{services.settings.public_base_url.rstrip('/')}/export/{token}"
