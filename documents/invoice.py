"""What is printed and sent: the invoice document and its seller, as the renderers take them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

from documents.amounts import Totals
from extraction.models import Customer


@dataclass(frozen=True)
class Seller:
    company: str
    street: str
    postal_code: str
    city: str
    country: str
    tax_number: str | None
    vat_id: str | None
    iban: str
    bic: str | None
    email: str
    phone: str | None
    logo: bytes | None = None  # PNG or JPEG, printed top right
    logo_mime: str | None = None  # "image/png" or "image/jpeg"; the bytes decide when they disagree


class DocumentKind(str, Enum):
    """What a document is: an invoice, or a cancellation invoice (Stornorechnung, never "Gutschrift") that undoes one:
    its PDF shows the cancelled invoice's amounts reversed, its XML is an EN 16931 credit note (type code 381)."""

    INVOICE = "invoice"
    CANCELLATION = "cancellation"


@dataclass(frozen=True)
class CancelledInvoice:
    """The invoice a Stornorechnung cancels (BT-25, BT-26)."""

    number: str
    issue_date: dt.date


@dataclass(frozen=True)
class InvoiceDocument:
    number: str | None  # None: a draft preview (marked ENTWURF, no number, not payable)
    issue_date: dt.date
    service_date: dt.date | None
    due_date: dt.date
    language: str  # "de" or "en"; anything else renders German
    seller: Seller
    customer: Customer
    job_title: str | None
    notes: str | None
    totals: Totals  # a Stornorechnung: the cancelled invoice's totals, as they were (positive)
    kind: DocumentKind = DocumentKind.INVOICE
    cancels: CancelledInvoice | None = None  # set for DocumentKind.CANCELLATION
