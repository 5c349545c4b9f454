"""Render an invoice to HTML (Jinja2) and to PDF (WeasyPrint), German by default, English on request."""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint import CSS
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError

from documents import RenderFailed
from documents.amounts import TaxMode, reverse_totals
from documents.bank import group_iban
from documents.invoice import DocumentKind, InvoiceDocument
from documents.labels import LABELS, LOCALES, UNITS, language_of
from documents.pdf.formatting import (
    filter_money,
    format_day,
    format_day_in,
    format_number,
    format_percent,
    format_price,
    name_country,
    name_unit,
)
from documents.pdf.girocode import render_girocode_uri
from documents.pdf.letter import build_address, build_logo_uri, choose_address_size
from documents.pdf.weasy import InvoiceHTML, TemplateFetcher

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
PDF_VARIANT = "pdf/a-3b"  # Factur-X XML is embedded afterwards (documents/facturx.py)


@lru_cache(maxsize=1)
def get_environment() -> Environment:
    """The Jinja2 environment, built once on first use."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=filter_money, price=format_price, day=format_day, number=format_number,
                       percent=format_percent, unit=name_unit, country=name_country, iban=group_iban)
    return env


def build_context(doc: InvoiceDocument) -> dict[str, Any]:
    """Everything the template needs besides the document: labels, locale, tax flags, address and codes."""
    language = language_of(doc)
    t, seller, totals = LABELS[language], doc.seller, doc.totals
    address = build_address(doc.customer, seller.country, LOCALES[language])
    draft = doc.number is None
    cancellation = doc.kind is DocumentKind.CANCELLATION and doc.cancels is not None
    # A draft must not be payable: no GiroCode (and no number to quote as the payment reference); nor a Stornorechnung.
    girocode = None if draft or cancellation else render_girocode_uri(
        seller.company, seller.iban, totals.gross, t["remittance"].format(number=doc.number), seller.bic)
    standard = totals.tax_mode is TaxMode.STANDARD
    heading = t["cancellation_title"] if cancellation else t["title"]
    return {
        "doc": doc,
        "t": t,
        "draft": draft,
        "cancellation": cancellation,
        "cancelled_date": format_day_in(doc.cancels.issue_date, LOCALES[language]) if doc.cancels else "",
        "totals": reverse_totals(totals) if cancellation else totals,  # a Stornorechnung shows every amount reversed
        "title": t["draft_title"] if draft else f"{heading} {doc.number}",
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


@lru_cache(maxsize=len(LABELS))
def load_page_label_stylesheet(language: str) -> CSS:
    """'Seite x von y' / 'Page x of y' in the footer's margin box, where WeasyPrint fills in counters cheaply."""
    t = LABELS[language]
    content = f"{css_string(t['page'] + ' ')} counter(page) {css_string(' ' + t['page_of'] + ' ')} counter(pages)"
    return CSS(string=f"@page {{ @bottom-center {{ content: {content} element(footer); }} }}",
               font_config=get_font_configuration())


def css_string(text: str) -> str:
    """text as a quoted CSS string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ") + '"'


def render_invoice_pdf(doc: InvoiceDocument, pdf_variant: str | None = PDF_VARIANT) -> bytes:
    """The invoice as PDF/A-3b bytes (a plain PDF with pdf_variant=None, for a draft's preview); RenderFailed when
    WeasyPrint fails (resources are the template folder's files and data: URIs only: TemplateFetcher)."""
    html = render_invoice_html(doc)
    fetcher = TemplateFetcher(TEMPLATES)
    try:
        stylesheets = [load_stylesheet(TEMPLATES), load_page_label_stylesheet(language_of(doc))]
        pdf = InvoiceHTML(html, TEMPLATES.as_uri() + "/", fetcher).write_pdf(
            stylesheets=stylesheets, font_config=get_font_configuration(), pdf_variant=pdf_variant)
    except (FatalURLFetchingError, OSError, ValueError, RuntimeError) as exc:
        logger.warning("invoice PDF rendering failed: %s", type(exc).__name__)
        raise RenderFailed(f"PDF rendering failed: {type(exc).__name__}") from exc
    if not pdf:
        raise RenderFailed("PDF rendering returned no bytes")
    logger.debug("invoice PDF rendered (%d bytes)", len(pdf))
    return pdf
