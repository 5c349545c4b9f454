"""Deleting a tenant's content on request, and offboarding (content and every piece of personal data)."""
from __future__ import annotations

import logging
from collections import Counter

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from store.content import shred_invoice, write_receipt
from store.crypto import ContentCipher
from store.db import execute_count
from store.models import (
    AccountNotice,
    ArchiveAddress,
    DeletionReceipt,
    DeletionTrigger,
    InboundMessage,
    Invoice,
    InvoiceState,
    LoginLink,
    MagicLink,
    OtpChallenge,
    OtpSend,
    PriceItem,
    SenderNotice,
    Tenant,
    utcnow,
)

logger = logging.getLogger(__name__)

BLANK_PROFILE = {"company": "", "street": "", "postal_code": "", "city": "", "iban": "", "email": "",
                 "tax_number": None, "vat_id": None, "bic": None, "hourly_rate": None, "vocabulary": None,
                 "business_phone": None, "logo": None, "logo_mime": None, "phone_sealed": None, "wa_user_hmac": None}


def shred_tenant_content(session: Session, cipher: ContentCipher, tenant_id: int) -> Counter[str]:
    """Shred every invoice's content and any message text not yet processed."""
    counts: Counter[str] = Counter()
    invoices = session.scalars(select(Invoice).where(Invoice.tenant_id == tenant_id,
                                                     Invoice.state != InvoiceState.DELETED,
                                                     Invoice.deleted_at.is_(None))
                               .with_for_update()).all()
    for invoice in invoices:
        counts.update(shred_invoice(session, cipher, invoice))
    counts["message_text"] = execute_count(session, update(InboundMessage).where(
        InboundMessage.tenant_id == tenant_id, InboundMessage.body_sealed.is_not(None)).values(body_sealed=None))
    return counts


def delete_tenant_content(session: Session, cipher: ContentCipher, tenant_id: int,
                          trigger: DeletionTrigger = DeletionTrigger.REQUEST) -> DeletionReceipt:
    """All content of one tenant (the chat's LÖSCHEN, or support); always answers with a receipt."""
    counts = shred_tenant_content(session, cipher, tenant_id)
    session.get_one(Tenant, tenant_id).delete_requested_at = None
    return write_receipt(session, tenant_id, trigger, counts)


def offboard_tenant(session: Session, cipher: ContentCipher, tenant_id: int) -> DeletionReceipt:
    """Content, profile, number, logo, price list, archive addresses, codes, links and message metadata; a tombstone
    keeps the receipts."""
    tenant = session.get_one(Tenant, tenant_id, with_for_update=True)
    counts = shred_tenant_content(session, cipher, tenant_id)
    invoice_ids = select(Invoice.id).where(Invoice.tenant_id == tenant_id)
    counts["magic_link"] += execute_count(session, delete(MagicLink).where(MagicLink.invoice_id.in_(invoice_ids)))
    counts["invoice_record"] = execute_count(session, delete(Invoice).where(Invoice.tenant_id == tenant_id))
    counts["message_record"] = execute_count(session, delete(InboundMessage)
                                             .where(InboundMessage.tenant_id == tenant_id))
    counts["verification_code"] = execute_count(session, delete(OtpChallenge)
                                                .where(OtpChallenge.tenant_id == tenant_id))
    counts["login_link"] = execute_count(session, delete(LoginLink).where(LoginLink.tenant_id == tenant_id))
    counts["price_list"] = execute_count(session, delete(PriceItem).where(PriceItem.tenant_id == tenant_id))
    counts["archive_address"] = execute_count(session, delete(ArchiveAddress)
                                              .where(ArchiveAddress.tenant_id == tenant_id))
    session.execute(delete(OtpSend).where(or_(OtpSend.phone_hmac == tenant.phone_hmac, OtpSend.tenant_id == tenant_id)))
    session.execute(delete(AccountNotice).where(AccountNotice.tenant_id == tenant_id))
    session.execute(delete(SenderNotice).where(SenderNotice.phone_hmac == tenant.phone_hmac))
    counts["phone_number"] = int(tenant.phone_sealed is not None)
    counts["logo"] = int(tenant.logo is not None)
    counts["profile"] = int(tenant.offboarded_at is None)
    for name, value in BLANK_PROFILE.items():
        setattr(tenant, name, value)
    tenant.phone_hmac = f"offboarded-{tenant_id}"  # unique, and the pseudonym of nothing
    tenant.active = tenant.verified = False
    tenant.delete_requested_at = None
    tenant.offboarded_at = tenant.offboarded_at or utcnow()
    return write_receipt(session, tenant_id, DeletionTrigger.OFFBOARDING, counts)


def list_receipts(session: Session, tenant_id: int, limit: int = 50) -> list[DeletionReceipt]:
    """The tenant's newest deletion receipts."""
    return list(session.scalars(select(DeletionReceipt).where(DeletionReceipt.tenant_id == tenant_id)
                                .order_by(DeletionReceipt.created_at.desc()).limit(limit)))
