"""The support audit log: who did what to which tenant, never content."""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from store.models import AuditEntry

logger = logging.getLogger(__name__)

CLI_ACTOR = "cli"


def record_audit(session: Session, actor: str, action: str, tenant_id: int | None = None,
                 **detail: object) -> AuditEntry:
    """Add an audit entry in the caller's transaction (so it exists exactly when the action does)."""
    entry = AuditEntry(actor=actor, action=action, tenant_id=tenant_id, detail=dict(detail))
    session.add(entry)
    logger.info("audit: %s by staff/cli on tenant %s", action, tenant_id)
    return entry
