"""GDPR Art. 15/20 export: everything stored about one tenant as JSON, plus the pending PDFs, in a ZIP."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import ContentGone
from store.archive import list_archive_addresses
from store.content import list_categories, open_content
from store.crypto import ContentCipher
from store.models import (
    AuditEntry,
    DeletionReceipt,
    InboundMessage,
    Invoice,
    InvoiceState,
    PriceItem,
    Tenant,
    utcnow,
)
from store.phones import open_phone

PROFILE = ("company", "street", "postal_code", "city", "country", "tax_number", "vat_id", "iban", "bic", "email",
           "business_phone", "hourly_rate", "vat_rate", "small_business", "payment_terms_days", "language",
           "number_format", "invoice_counter", "vocabulary", "retention_days", "auto_issue", "verified", "active",
           "created_at", "welcomed_at", "last_activity_at")


def to_plain(value: Any) -> Any:
    """JSON-friendly values: ISO dates, decimal strings, enum values."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return getattr(value, "value", value)


def describe_invoice(session: Session, cipher: ContentCipher, invoice: Invoice) -> tuple[dict[str, Any], bytes | None]:
    """An invoice's metadata, and while it is pending its fields, transcript and PDF."""
    entry = {"number": invoice.number, "state": invoice.state.value, "created_at": to_plain(invoice.created_at),
             "content_deleted_by": to_plain(invoice.expires_at), "downloaded_at": to_plain(invoice.downloaded_at),
             "deleted_at": to_plain(invoice.deleted_at), "archive_copy": to_plain(invoice.archive_state),
             "archived_at": to_plain(invoice.archived_at),
             "mailed_to_customer_at": to_plain(invoice.customer_mailed_at)}
    if invoice.state is InvoiceState.DELETED:
        return entry, None
    try:
        entry["fields"] = json.loads(open_content(session, cipher, invoice.id, "fields"))
        entry["transcript"] = open_content(session, cipher, invoice.id, "transcript").decode()
        pdf = open_content(session, cipher, invoice.id, "pdf")
        if "customer_email" in list_categories(session, invoice.id):  # typed into the chat after the invoice
            entry["customer_email"] = open_content(session, cipher, invoice.id, "customer_email").decode()
    except ContentGone:
        return entry, None
    entry["pdf_file"] = f"rechnungen/{(invoice.number or invoice.id).replace('/', '-')}.pdf"
    return entry, pdf


def describe_draft(session: Session, cipher: ContentCipher, draft: Invoice) -> dict[str, Any]:
    """An open draft: when it was made and last shown, its fields and the words that made and corrected it."""
    entry: dict[str, Any] = {"created_at": to_plain(draft.created_at), "last_shown_at": to_plain(draft.shown_at),
                             "content_deleted_by": to_plain(draft.expires_at)}
    try:
        entry["fields"] = json.loads(open_content(session, cipher, draft.id, "fields"))
        entry["transcript"] = open_content(session, cipher, draft.id, "transcript").decode()
    except ContentGone:
        pass
    return entry


def collect_export(session: Session, cipher: ContentCipher, tenant_id: int) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(the JSON document, the files) of one tenant; every query is filtered by this tenant's id."""
    tenant = session.get_one(Tenant, tenant_id)
    profile = {name: to_plain(getattr(tenant, name)) for name in PROFILE}
    profile["whatsapp_number"] = open_phone(cipher, tenant.phone_sealed, tenant.phone_hmac)
    profile["archive_addresses"] = list_archive_addresses(session, tenant_id)
    files: dict[str, bytes] = {}
    if tenant.logo:
        files["logo" + (".png" if tenant.logo_mime == "image/png" else ".jpg")] = tenant.logo
        profile["logo_sha256"] = hashlib.sha256(tenant.logo).hexdigest()
    invoices, drafts = [], []
    for invoice in session.scalars(select(Invoice).where(Invoice.tenant_id == tenant_id).order_by(Invoice.created_at)):
        if invoice.state is InvoiceState.DRAFT:
            drafts.append(describe_draft(session, cipher, invoice))
            continue
        if invoice.number is None:  # a discarded draft: nothing left but its deletion receipt
            continue
        entry, pdf = describe_invoice(session, cipher, invoice)
        invoices.append(entry)
        if pdf is not None:
            files[entry["pdf_file"]] = pdf
    messages = [{"received_at": to_plain(m.received_at), "kind": m.kind.value, "state": m.state.value,
                 "outcome": to_plain(m.outcome)}
                for m in session.scalars(select(InboundMessage).where(InboundMessage.tenant_id == tenant_id)
                                         .order_by(InboundMessage.received_at))]
    receipts = [{"id": r.id, "created_at": to_plain(r.created_at), "trigger": r.trigger.value,
                 "categories": r.categories, "archive_copy_handed_off": r.archive_handed_off}
                for r in session.scalars(select(DeletionReceipt).where(DeletionReceipt.tenant_id == tenant_id)
                                         .order_by(DeletionReceipt.created_at))]
    prices = [{"description": p.description, "unit": p.unit, "unit_price": str(p.unit_price),
               "vat_rate": None if p.vat_rate is None else str(p.vat_rate)}
              for p in session.scalars(select(PriceItem).where(PriceItem.tenant_id == tenant_id)
                                       .order_by(PriceItem.description, PriceItem.id))]
    audit = [{"created_at": to_plain(a.created_at), "action": a.action}
             for a in session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
                                      .order_by(AuditEntry.created_at))]
    document = {"exported_at": to_plain(utcnow()), "profile": profile, "price_list": prices, "invoices": invoices,
                "drafts": drafts, "messages": messages, "deletion_receipts": receipts, "support_actions": audit,
                "not_stored": ["audio", "message texts after processing", "customer data after deletion"]}
    return document, files


def build_export_zip(session: Session, cipher: ContentCipher, tenant_id: int) -> bytes:
    """The export as ZIP bytes, built in memory (nothing is written to disk)."""
    document, files = collect_export(session, cipher, tenant_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("daten.json", json.dumps(document, ensure_ascii=False, indent=2))
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
