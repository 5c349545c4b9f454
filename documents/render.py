"""Render an invoice to HTML (Jinja2) and to PDF (WeasyPrint), German by default, English on request."""
from __future__ import annotations

import base64
import datetime as dt
import logging
import math
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
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from documents import RenderFailed
from documents.amounts import TaxMode, Totals, round_cents
from documents.girocode import render_girocode_uri
from documents.labels import LABELS, LOCALES, UNITS
from extraction.models import Customer

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
PDF_VARIANT = "pdf/a-3b"  # Factur-X XML is embedded afterwards (documents/facturx.py)
IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_LOGO_BYTES = 2_000_000  # a bigger logo would slow every render down
# Address font sizes (CSS class, pt) with the lines that fit into the 27.3 mm address zone
ADDRESS_SIZES = (("", 10.0, 6), ("compact", 8.5, 7), ("tiny", 7.0, 8))
ADDRESS_WIDTH_MM = 77.0


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


def name_country_in(code: str, locale: str) -> str:
    """The country's name in the given locale, upper case as DIN 5008 asks for abroad."""
    return str(Locale.parse(locale).territories.get(code.upper(), code)).upper()


@pass_context
def name_country(context: Context, code: str) -> str:
    return name_country_in(code, context["locale"])


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


def build_logo_uri(seller: Seller) -> str | None:
    """The logo as a data: URI when its bytes are a PNG or JPEG of at most 2 MB, else None (logged)."""
    if not seller.logo:
        return None
    mime = next((kind for magic, kind in IMAGE_TYPES.items() if seller.logo.startswith(magic)), None)
    if mime is None or len(seller.logo) > MAX_LOGO_BYTES:
        logger.warning("logo skipped: not a PNG or JPEG up to %d bytes (declared %s, %d bytes)", MAX_LOGO_BYTES,
                       seller.logo_mime, len(seller.logo))
        return None
    return f"data:{mime};base64,{base64.b64encode(seller.logo).decode('ascii')}"


def build_address(customer: Customer, seller_country: str, locale: str) -> list[str]:
    """The address lines DIN 5008 prints in the window, country last and only when abroad."""
    lines = [customer.company] if customer.company and customer.company != customer.name else []
    lines += [customer.name, customer.street or ""]
    lines.append(" ".join(part for part in (customer.postal_code, customer.city) if part))
    if customer.country.upper() != seller_country.upper():
        lines.append(name_country_in(customer.country, locale))
    return [line for line in lines if line.strip()]


def choose_address_size(lines: list[str]) -> str:
    """The largest font size whose wrapped lines (estimated at 0.62 em a character) fit the address zone."""
    for css_class, points, max_lines in ADDRESS_SIZES:
        per_line = max(1, int(ADDRESS_WIDTH_MM / (0.62 * points * 0.3528)))
        if sum(math.ceil(len(line) / per_line) for line in lines) <= max_lines:
            return css_class
    return ADDRESS_SIZES[-1][0]


def build_context(doc: InvoiceDocument) -> dict[str, Any]:
    """Everything the template needs besides the document: labels, locale, tax flags, address and codes."""
    language = doc.language if doc.language in LABELS else "de"
    t, seller, totals = LABELS[language], doc.seller, doc.totals
    address = build_address(doc.customer, seller.country, LOCALES[language])
    girocode = render_girocode_uri(seller.company, seller.iban, totals.gross,
                                   t["remittance"].format(number=doc.number), seller.bic)
    standard = totals.tax_mode is TaxMode.STANDARD
    return {
        "doc": doc,
        "t": t,
        "units": UNITS[language],
        "locale": LOCALES[language],
        "lang": language,
        "standard": standard,
        "small_business": totals.tax_mode is TaxMode.SMALL_BUSINESS,
        "reverse_charge": totals.tax_mode is TaxMode.REVERSE_CHARGE,
        "zero_rate": standard and any(line.vat_rate == 0 for line in totals.lines),
        "private": not doc.customer.is_business,
        "several_rates": len(totals.groups) > 1,
        "logo": build_logo_uri(seller),
        "return_address": f"{seller.company} · {seller.street} · {seller.postal_code} {seller.city}",
        "address": address,
        "address_size": choose_address_size(address),
        "girocode": girocode,
    }


def render_invoice_html(doc: InvoiceDocument) -> str:
    return get_environment().get_template("invoice.html").render(build_context(doc))


@lru_cache(maxsize=1)
def get_font_configuration() -> FontConfiguration:
    """One fontconfig setup for all renders (only system fonts are used)."""
    return FontConfiguration()


@lru_cache(maxsize=2)
def load_stylesheet(folder: Path) -> CSS:
    """invoice.css from the templates folder, parsed once."""
    return CSS(filename=str(folder / "invoice.css"), font_config=get_font_configuration())


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    """The invoice as PDF/A-3b bytes; RenderFailed when WeasyPrint fails (resources are local files only)."""
    html = render_invoice_html(doc)
    fetcher = URLFetcher(allowed_protocols=("file", "data"), fail_on_errors=True)
    try:
        stylesheet = load_stylesheet(TEMPLATES)
        pdf = HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=fetcher).write_pdf(
            stylesheets=[stylesheet], font_config=get_font_configuration(), pdf_variant=PDF_VARIANT)
    except (FatalURLFetchingError, OSError, ValueError, RuntimeError) as exc:
        logger.warning("invoice PDF rendering failed: %s", type(exc).__name__)
        raise RenderFailed(f"PDF rendering failed: {type(exc).__name__}") from exc
    if not pdf:
        raise RenderFailed("PDF rendering returned no bytes")
    logger.debug("invoice PDF rendered (%d bytes)", len(pdf))
    return pdf
