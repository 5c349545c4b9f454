"""Sealed invoice content: store under a fresh data key, read, and delete with a receipt."""
from __future__ import annotations

import logging

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from store import ContentGone
from store.crypto import ContentCipher
from store.db import execute_count
from store.models import (
    DataKey,
    DeletionReceipt,
    DeletionTrigger,
    Invoice,
    InvoiceState,
    MagicLink,
    SealedContent,
    utcnow,
)

logger = logging.getLogger(__name__)


def seal_contents(session: Session, cipher: ContentCipher, invoice_id: str, contents: dict[str, bytes]) -> None:
    """Encrypt each category under one new data key bound to the invoice id."""
    data_key, wrapped = cipher.new_wrapped_key()
    session.add(DataKey(invoice_id=invoice_id, wrapped_key=wrapped))
    for category, plaintext in contents.items():
        sealed = cipher.seal(data_key, plaintext, f"{invoice_id}/{category}")
        session.add(SealedContent(invoice_id=invoice_id, category=category, ciphertext=sealed))


def open_content(session: Session, cipher: ContentCipher, invoice_id: str, category: str) -> bytes:
    """Decrypt one category; ContentGone when the key or the blob was deleted."""
    key_row = session.get(DataKey, invoice_id)
    blob = session.get(SealedContent, (invoice_id, category))
    if key_row is None or blob is None:
        raise ContentGone(invoice_id)
    data_key = cipher.unwrap(key_row.wrapped_key, invoice_id)
    return cipher.open(data_key, blob.ciphertext, f"{invoice_id}/{category}")


def delete_invoice_content(session: Session, invoice: Invoice, trigger: DeletionTrigger) -> DeletionReceipt | None:
    """Shred the data key, delete blobs and links, and write a receipt; None if nothing was left."""
    categories = list(session.scalars(select(SealedContent.category).where(SealedContent.invoice_id == invoice.id)))
    # links stay as spent hashes (no content) so that a used link can say so; the sweep drops them on expiry
    unused = MagicLink.invoice_id == invoice.id, MagicLink.used_at.is_(None)
    links = execute_count(session, update(MagicLink).where(*unused).values(used_at=utcnow()))
    keys = execute_count(session, delete(DataKey).where(DataKey.invoice_id == invoice.id))
    session.execute(delete(SealedContent).where(SealedContent.invoice_id == invoice.id))
    invoice.state = InvoiceState.DELETED
    invoice.deleted_at = utcnow()
    if not categories and not keys:
        return None
    counts = {category: 1 for category in categories}
    counts.update({"data_key": keys, "magic_link": links})
    receipt = DeletionReceipt(tenant_id=invoice.tenant_id, trigger=trigger, categories=counts)
    session.add(receipt)
    session.flush()
    logger.info("content of invoice %s deleted (trigger %s, receipt %s)", invoice.id, trigger.value, receipt.id)
    return receipt
