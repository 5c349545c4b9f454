"""Shared pieces of the CII XML: namespaced elements, amounts, dates, VAT categories and exemption texts."""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from lxml import etree

from documents.amounts import CENT, TaxMode, round_cents
from documents.labels import LABELS

logger = logging.getLogger(__name__)

NAMESPACES = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def add_element(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    """Append a child named "prefix:Name" with optional text and attributes; return it."""
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NAMESPACES[prefix]}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def format_amount(value: Decimal) -> str:
    """An amount with exactly two decimals, rounded half up: 318 -> "318.00"."""
    return f"{round_cents(value).quantize(CENT):f}"


def add_date(parent: Any, day: dt.date) -> None:
    add_element(parent, "udt:DateTimeString", f"{day:%Y%m%d}", format="102")


def categorize_vat(tax_mode: TaxMode, rate: Decimal) -> str:
    """VAT category code (UNCL 5305): S standard, Z zero rated, E §19 UStG, AE §13b UStG."""
    if tax_mode is TaxMode.SMALL_BUSINESS:
        return "E"
    if tax_mode is TaxMode.REVERSE_CHARGE:
        return "AE"
    return "S" if rate > 0 else "Z"


def describe_exemption(tax_mode: TaxMode, language: str) -> tuple[str | None, str | None]:
    """VAT exemption reason text (BT-120) and code (BT-121), the same text the PDF shows."""
    if tax_mode is TaxMode.SMALL_BUSINESS:
        return LABELS[language]["small_business"], None
    if tax_mode is TaxMode.REVERSE_CHARGE:
        return LABELS[language]["reverse_charge"], "VATEX-EU-AE"
    return None, None


def add_tax(parent: Any, category: str, rate: Decimal) -> None:
    """Type, category and rate of a line or allowance VAT (BG-30, BT-95/96)."""
    add_element(parent, "ram:TypeCode", "VAT")
    add_element(parent, "ram:CategoryCode", category)
    add_element(parent, "ram:RateApplicablePercent", format_amount(rate))
