"""Sealed invoice content: store under a fresh data key, read, and delete with a receipt."""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from store import ContentGone
from store.archive import archive_holds
from store.crypto import ContentCipher
from store.db import execute_count
from store.models import (
    ArchiveState,
    DataKey,
    DeletionReceipt,
    DeletionTrigger,
    Invoice,
    InvoiceState,
    MagicLink,
    SealedContent,
    Tenant,
    utcnow,
)

logger = logging.getLogger(__name__)


def seal_contents(session: Session, cipher: ContentCipher, invoice_id: str, expires_at: dt.datetime,
                  contents: dict[str, bytes]) -> None:
    """Encrypt each category under one new data key bound to the invoice id; its key file expires with it."""
    data_key, wrapped, key_ref = cipher.new_wrapped_key(invoice_id, expires_at)
    session.add(DataKey(invoice_id=invoice_id, wrapped_key=wrapped, key_ref=key_ref))
    for category, plaintext in contents.items():
        sealed = cipher.seal(data_key, plaintext, f"{invoice_id}/{category}")
        session.add(SealedContent(invoice_id=invoice_id, category=category, ciphertext=sealed))


def reseal_contents(session: Session, cipher: ContentCipher, invoice_id: str, contents: dict[str, bytes]) -> None:
    """Replace some categories under the existing data key (a draft's revision)."""
    key_row = session.get(DataKey, invoice_id)
    if key_row is None:
        raise ContentGone(invoice_id)
    data_key = cipher.unwrap(key_row.wrapped_key, invoice_id, key_row.key_ref)
    for category, plaintext in contents.items():
        sealed = cipher.seal(data_key, plaintext, f"{invoice_id}/{category}")
        session.merge(SealedContent(invoice_id=invoice_id, category=category, ciphertext=sealed))


def rekey_contents(session: Session, cipher: ContentCipher, invoice_id: str, expires_at: dt.datetime,
                   contents: dict[str, bytes]) -> list[str]:
    """Seal `contents` under a new data key whose key file expires at `expires_at`. Returns the old key files'
    refs: destroy them after the commit (a rollback still needs them; their own expiry destroys them anyway)."""
    old_refs = [ref for ref in session.scalars(select(DataKey.key_ref).where(DataKey.invoice_id == invoice_id)) if ref]
    session.execute(delete(SealedContent).where(SealedContent.invoice_id == invoice_id))
    session.execute(delete(DataKey).where(DataKey.invoice_id == invoice_id))
    session.flush()
    seal_contents(session, cipher, invoice_id, expires_at, contents)
    new_ref = session.get_one(DataKey, invoice_id).key_ref
    return [ref for ref in old_refs if ref != new_ref]  # the same expiry hour names the same file, now rewritten


def list_categories(session: Session, invoice_id: str) -> set[str]:
    """Which content categories an invoice still holds (metadata only, nothing is decrypted)."""
    return set(session.scalars(select(SealedContent.category).where(SealedContent.invoice_id == invoice_id)))


def open_content(session: Session, cipher: ContentCipher, invoice_id: str, category: str) -> bytes:
    """Decrypt one category; ContentGone when the key, its key file or the blob was deleted."""
    key_row = session.get(DataKey, invoice_id)
    blob = session.get(SealedContent, (invoice_id, category))
    if key_row is None or blob is None:
        raise ContentGone(invoice_id)
    data_key = cipher.unwrap(key_row.wrapped_key, invoice_id, key_row.key_ref)
    return cipher.open(data_key, blob.ciphertext, f"{invoice_id}/{category}")


def shred_invoice(session: Session, cipher: ContentCipher, invoice: Invoice) -> Counter[str]:
    """Destroy the key file first (if the transaction then fails, deletion still wins), then keys and blobs."""
    key_refs = list(session.scalars(select(DataKey.key_ref).where(DataKey.invoice_id == invoice.id)))
    files = sum(cipher.destroy_key(ref) for ref in key_refs)
    counts: Counter[str] = Counter(session.scalars(select(SealedContent.category)
                                                   .where(SealedContent.invoice_id == invoice.id)))
    # links stay as spent hashes (no content) so that a used link can say so; the sweep drops them on expiry
    unused = MagicLink.invoice_id == invoice.id, MagicLink.used_at.is_(None)
    counts["magic_link"] = execute_count(session, update(MagicLink).where(*unused).values(used_at=utcnow()))
    counts["data_key"] = execute_count(session, delete(DataKey).where(DataKey.invoice_id == invoice.id))
    counts["key_file"] = files
    if invoice.archive_state is not None:  # tenant-wide receipts count the copies handed off and not
        counts["archive_copy_sent" if invoice.archive_state is ArchiveState.SENT else "archive_copy_missing"] = 1
    session.execute(delete(SealedContent).where(SealedContent.invoice_id == invoice.id))
    if invoice.state is not InvoiceState.DELETED and invoice.deleted_at is None:
        counts["draft" if invoice.state is InvoiceState.DRAFT else "invoice"] = 1
    if invoice.state is not InvoiceState.CANCELLED:  # a cancelled invoice stays cancelled: deleted_at says the rest
        invoice.state = InvoiceState.DELETED
    invoice.deleted_at = invoice.deleted_at or utcnow()
    return counts


def write_receipt(session: Session, tenant_id: int | None, trigger: DeletionTrigger,
                  counts: Counter[str], archive_handed_off: bool | None = None) -> DeletionReceipt:
    """Proof of a deletion: trigger, categories and counts, whether the archive copy had been handed off (one
    invoice's), never content or an address."""
    receipt = DeletionReceipt(tenant_id=tenant_id, trigger=trigger, archive_handed_off=archive_handed_off,
                              categories={k: v for k, v in sorted(counts.items()) if v})
    session.add(receipt)
    session.flush()
    logger.info("deletion receipt %s (trigger %s)", receipt.id, trigger.value)
    return receipt


def delete_invoice_content(session: Session, cipher: ContentCipher, invoice: Invoice,
                           trigger: DeletionTrigger) -> DeletionReceipt | None:
    """Shred one invoice's content and write a receipt; None if nothing was left. A download (trigger DOWNLOAD)
    leaves content alone whose archive copy the mail server has not taken: only retention deletes that."""
    if trigger is DeletionTrigger.DOWNLOAD and archive_holds(invoice):
        return None
    handed_off = None if invoice.archive_state is None else invoice.archive_state is ArchiveState.SENT
    counts = shred_invoice(session, cipher, invoice)
    if not (counts["data_key"] or counts["key_file"] or counts["pdf"] or counts["fields"]):
        return None
    return write_receipt(session, invoice.tenant_id, trigger, counts, handed_off)


def retention_days_of(tenant: Tenant, cap: int) -> int:
    """The tenant's retention in days (1..30), never above the platform's RETENTION_DAYS."""
    return max(1, min(tenant.retention_days or cap, cap))
