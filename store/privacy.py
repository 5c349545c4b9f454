"""Deletion on request, offboarding and data export links: one place for chat, console, account page and CLI."""
from __future__ import annotations

import datetime as dt
import logging

from settings import Settings
from store.audit import record_audit
from store.crypto import ContentCipher
from store.db import Database
from store.erasure import delete_tenant_content, offboard_tenant
from store.links import create_login_link
from store.models import DeletionReceipt, DeletionTrigger, LinkPurpose

logger = logging.getLogger(__name__)


def erase_content(db: Database, cipher: ContentCipher, tenant_id: int, actor: str) -> DeletionReceipt:
    """Delete all of a tenant's content now (trigger: request) and fold the WAL."""
    with db.session() as session:
        receipt = delete_tenant_content(session, cipher, tenant_id, DeletionTrigger.REQUEST)
        record_audit(session, actor, "content_deleted", tenant_id, receipt=receipt.id)
        session.expunge(receipt)
    db.checkpoint()
    return receipt


def offboard(db: Database, cipher: ContentCipher, tenant_id: int, actor: str) -> DeletionReceipt:
    """Delete the tenant's content and personal data, the number included; the receipt stays."""
    with db.session() as session:
        receipt = offboard_tenant(session, cipher, tenant_id)
        record_audit(session, actor, "tenant_offboarded", tenant_id, receipt=receipt.id)
        session.expunge(receipt)
    db.checkpoint()
    return receipt


def create_export_link(db: Database, settings: Settings, tenant_id: int) -> str:
    """A single-use link to the tenant's data export (valid EXPORT_HOURS); returns the URL."""
    ttl = dt.timedelta(hours=settings.export_hours)
    with db.session() as session:
        token = create_login_link(session, tenant_id, purpose=LinkPurpose.EXPORT, ttl=ttl)
    return settings.public_url(f"/export/{token}")
