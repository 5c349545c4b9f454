"""A draft's preview PDF: the invoice as it would be issued today, marked ENTWURF, without a number."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.orm import Session

from documents.amounts import compute_totals
from documents.files import render_preview
from documents.issuing import build_document, tax_mode_for
from extraction.models import InvoiceFields
from store.content import open_content
from store.crypto import ContentCipher
from store.models import Invoice, Tenant


def is_previewable(fields: InvoiceFields) -> bool:
    """A customer, at least one item, and a price for every item: the bot is still asking otherwise."""
    return fields.customer is not None and bool(fields.items) and all(
        item.unit_price is not None for item in fields.items)


def render_draft_preview(session: Session, cipher: ContentCipher, invoice_id: str, today: dt.date) -> bytes | None:
    """The draft's preview PDF (plain PDF, no e-invoice), or None while it cannot be previewed yet.

    Reads only (safe for GET); ContentGone when the draft's content was shredded, RenderFailed when rendering fails.
    """
    invoice = session.get_one(Invoice, invoice_id)
    fields = InvoiceFields.model_validate(json.loads(open_content(session, cipher, invoice_id, "fields")))
    if not is_previewable(fields):
        return None
    tenant = session.get_one(Tenant, invoice.tenant_id)
    totals = compute_totals(fields, tenant.vat_rate, tax_mode_for(tenant, fields))
    return render_preview(build_document(tenant, fields, totals, None, today))
