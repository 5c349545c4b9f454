"""Render an invoice to HTML (Jinja2) and to PDF (WeasyPrint), German by default, English on request."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from documents import RenderFailed
from documents.amounts import TaxMode, Totals, round_cents
from documents.labels import LABELS, LOCALES, UNITS
from extraction.models import Customer

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"


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


@dataclass(frozen=True)
class InvoiceDocument:
    number: str
    issue_date: dt.date
    service_date: dt.date | None
    due_date: dt.date
    language: str  # "de" or "en"; anything else renders German
    seller: Seller
    customer: Customer
    job_title: str | None
    notes: str | None
    totals: Totals


@pass_context
def format_money(context: Context, value: Decimal) -> str:
    """1.234,56 € (de) or €1,234.56 (en), rounded half up to cents."""
    return format_currency(round_cents(value), "EUR", locale=context["locale"])


@pass_context
def format_day(context: Context, value: dt.date) -> str:
    """21.11.2026 (de) or 21 Nov 2026 (en)."""
    return format_date(value, "medium", locale=context["locale"])


@pass_context
def format_number(context: Context, value: Decimal) -> str:
    return format_decimal(value, locale=context["locale"])


@pass_context
def format_percent(context: Context, value: Decimal) -> str:
    """19 % (de) or 19% (en); value is in percent."""
    return context["t"]["percent"].format(format_decimal(value, locale=context["locale"]))


@pass_context
def name_unit(context: Context, unit: str) -> str:
    return context["units"].get(unit, unit)


@pass_context
def name_country(context: Context, code: str) -> str:
    """The country's name in the invoice language, upper case as DIN 5008 asks for abroad."""
    return str(Locale.parse(context["locale"]).territories.get(code.upper(), code)).upper()


def group_iban(iban: str) -> str:
    """DE89370400440532013000 -> DE89 3704 0044 0532 0130 00."""
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


@lru_cache(maxsize=1)
def get_environment() -> Environment:
    """The Jinja2 environment, built once on first use."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=format_money, day=format_day, number=format_number, percent=format_percent,
                       unit=name_unit, country=name_country, iban=group_iban)
    return env


def build_context(doc: InvoiceDocument) -> dict[str, Any]:
    """Everything the template needs besides the document: labels, locale and tax flags."""
    language = doc.language if doc.language in LABELS else "de"
    return {
        "doc": doc,
        "t": LABELS[language],
        "units": UNITS[language],
        "locale": LOCALES[language],
        "lang": language,
        "standard": doc.totals.tax_mode is TaxMode.STANDARD,
        "small_business": doc.totals.tax_mode is TaxMode.SMALL_BUSINESS,
        "reverse_charge": doc.totals.tax_mode is TaxMode.REVERSE_CHARGE,
        "private": not doc.customer.is_business,
        "several_rates": len(doc.totals.groups) > 1,
    }


def render_invoice_html(doc: InvoiceDocument) -> str:
    return get_environment().get_template("invoice.html").render(build_context(doc))


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as PDF bytes; RenderFailed when WeasyPrint fails (resources are local files only)."""
    html = render_invoice_html(doc)
    fetcher = URLFetcher(allowed_protocols=("file",), fail_on_errors=True)
    try:
        pdf = HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=fetcher).write_pdf()
    except (FatalURLFetchingError, OSError, ValueError, RuntimeError) as exc:
        logger.warning("invoice PDF rendering failed: %s", type(exc).__name__)
        raise RenderFailed(f"PDF rendering failed: {type(exc).__name__}") from exc
    if not pdf:
        raise RenderFailed("PDF rendering returned no bytes")
    logger.debug("invoice PDF rendered (%d bytes)", len(pdf))
    return pdf
