"""What is printed and sent: the invoice document and its seller, as the renderers take them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
    totals: Totals
