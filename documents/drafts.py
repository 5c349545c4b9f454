"""Drafts: an invoice row with no number yet, its fields and words sealed; created, revised, found, discarded."""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from extraction.models import InvoiceFields
from settings import Settings
from store.content import delete_invoice_content, open_content, reseal_contents, retention_days_of, seal_contents
from store.crypto import ContentCipher
from store.models import DeletionReceipt, DeletionTrigger, DraftMessage, Invoice, InvoiceState, Tenant, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Draft:
    """An open draft's content, opened in memory for one conversation turn."""

    id: str
    fields: InvoiceFields
    words: str  # the transcript and every correction, one per line


def create_draft(session: Session, cipher: ContentCipher, settings: Settings, tenant_id: int, inbound_id: int | None,
                 words: str, fields: InvoiceFields) -> Invoice:
    """A new draft whose retention counts from now; nothing is numbered."""
    tenant = session.get_one(Tenant, tenant_id)
    now = utcnow()
    expires_at = now + dt.timedelta(days=retention_days_of(tenant, settings.retention_days))
    draft = Invoice(tenant_id=tenant_id, inbound_id=inbound_id, number=None, state=InvoiceState.DRAFT,
                    created_at=now, shown_at=now, expires_at=expires_at)
    session.add(draft)
    session.flush()
    seal_contents(session, cipher, draft.id, expires_at,
                  {"fields": fields.model_dump_json().encode(), "transcript": words.encode()})
    logger.info("draft %s created", draft.id)
    return draft


def open_draft(session: Session, cipher: ContentCipher, draft_id: str) -> Draft:
    """The draft's fields and words (ContentGone when they were deleted)."""
    fields = InvoiceFields.model_validate(json.loads(open_content(session, cipher, draft_id, "fields")))
    return Draft(draft_id, fields, open_content(session, cipher, draft_id, "transcript").decode())


def revise_draft(session: Session, cipher: ContentCipher, draft: Draft, inbound_id: int, words: str,
                 fields: InvoiceFields) -> None:
    """Store the revised fields and append the correction's words."""
    reseal_contents(session, cipher, draft.id, {"fields": fields.model_dump_json().encode(),
                                                "transcript": f"{draft.words}\n{words}".encode()})
    row = session.get_one(Invoice, draft.id)
    row.revised_by, row.shown_at = inbound_id, utcnow()


def list_open_drafts(session: Session, tenant_id: int) -> list[Invoice]:
    """The tenant's open drafts, the most recently shown first."""
    return list(session.scalars(select(Invoice).where(Invoice.tenant_id == tenant_id,
                                                      Invoice.state == InvoiceState.DRAFT)
                                .order_by(Invoice.shown_at.desc(), Invoice.created_at.desc())))


def find_draft(session: Session, cipher: ContentCipher, tenant_id: int, draft_id: str | None = None,
               quoted_wamid: str | None = None) -> Invoice | None:
    """The draft a message is about: the pressed button's, the quoted message's, else the newest open one.
    A named draft is returned whatever its state (the caller says it was decided); only the tenant's own."""
    if draft_id is None and quoted_wamid:
        shown = session.get(DraftMessage, cipher.pseudonym(quoted_wamid))
        draft_id = shown.invoice_id if shown else None
    if draft_id is not None:
        row = session.get(Invoice, draft_id)
        return row if row is not None and row.tenant_id == tenant_id else None
    drafts = list_open_drafts(session, tenant_id)
    return drafts[0] if drafts else None


def record_shown(session: Session, cipher: ContentCipher, draft_id: str, wamid: str) -> None:
    """Remember the bot message that showed the draft (by pseudonym), so a reply quoting it finds the draft."""
    session.merge(DraftMessage(wa_message_hmac=cipher.pseudonym(wamid), invoice_id=draft_id))
    session.get_one(Invoice, draft_id).shown_at = utcnow()


def touch_draft(session: Session, draft_id: str) -> None:
    """Make the draft the newest: an unquoted correction goes to it ("Ändern" pressed on an older draft)."""
    session.get_one(Invoice, draft_id).shown_at = utcnow()


def discard_draft(session: Session, cipher: ContentCipher, draft: Invoice) -> DeletionReceipt | None:
    """Delete a draft's content at once, with a receipt; no number was taken."""
    return delete_invoice_content(session, cipher, draft, DeletionTrigger.DISCARD)
