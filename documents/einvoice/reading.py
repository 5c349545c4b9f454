"""Read back CII XML this service built (documents.einvoice.cii), e.g. from an invoice PDF sent back for a Storno:
its number and seller first, then, once the XML is known to be one the tenant was issued, its fields.

The XML is untrusted until then: parsed without DTDs, entities or network. What the XML does not carry is guessed:
an item's kind from its unit and words when the XML has no "Leistungsart" attribute (XML written before 2026-11-28;
the kind only decides the §35a labour share), whether prices were said including VAT (the net prices stated give the
same amounts), a business customer from a contact person, a VAT id, a Leitweg-ID or a legal form in the buyer's name.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree
from pydantic import ValidationError

from documents import EInvoiceUnreadable
from documents.einvoice.cii import KIND_ATTRIBUTE, KIND_VALUES, UNIT_CODES
from documents.einvoice.parties import compact
from documents.einvoice.parts import NAMESPACES
from documents.labels import LABELS
from extraction.models import Customer, Intent, InvoiceFields, Item, ItemKind, Unit

logger = logging.getLogger(__name__)

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
UNITS = {code: Unit(unit) for unit, code in UNIT_CODES.items()}
KINDS = {value: kind for kind, value in KIND_VALUES.items()}
EXEMPTION_NOTES = {LABELS[language][key] for language in LABELS for key in ("small_business", "reverse_charge")}
TRAVEL_WORDS = re.compile(r"fahrt|travel|trip|call-out", re.IGNORECASE)
# a buyer named with a legal form is a business (its name was its company's: the XML has no contact person then)
LEGAL_FORM = re.compile(r"(?<!\w)(?:gmbh|mbh|ag|kg|kgaa|ohg|gbr|ug|se|partg|e\.\s?k\.|e\.\s?v\.|ltd\.?|inc\.?|llc|plc)"
                        r"(?!\w)", re.IGNORECASE)
SELLER = "//ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty"
BUYER = "//ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty"


@dataclass(frozen=True)
class Header:
    """Who issued which document: BT-1 number, BT-3 type code, BT-27 seller name and its tax ids (BT-31, BT-32)."""

    number: str
    type_code: str
    seller_name: str
    seller_ids: frozenset[str]


def parse_xml(xml: bytes) -> Any:
    """The XML's root element; EInvoiceUnreadable when it is not well-formed or not CII."""
    try:
        root = etree.fromstring(xml, PARSER)
    except etree.XMLSyntaxError as exc:
        raise EInvoiceUnreadable("not well-formed XML") from exc
    if root.tag != f"{{{NAMESPACES['rsm']}}}CrossIndustryInvoice":
        raise EInvoiceUnreadable("not a CII invoice")
    return root


def text_at(node: Any, path: str) -> str | None:
    """The stripped text of the first match of `path` below `node`, None when absent or empty."""
    found = node.xpath(f"({path})[1]/text()", namespaces=NAMESPACES)
    return str(found[0]).strip() or None if found else None


def read_header(xml: bytes) -> Header:
    """Number, type and seller of a CII invoice; EInvoiceUnreadable when one of them is missing."""
    root = parse_xml(xml)
    number = text_at(root, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID")
    type_code = text_at(root, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode")
    seller = text_at(root, f"{SELLER}/ram:Name")
    if not (number and type_code and seller):
        raise EInvoiceUnreadable("number, type or seller missing")
    ids = root.xpath(f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID/text() | {SELLER}/ram:ID/text()",
                     namespaces=NAMESPACES)
    return Header(number, type_code, seller, frozenset(compact(str(i)) for i in ids))


def read_date(node: Any, path: str) -> dt.date | None:
    text = text_at(node, f"{path}/udt:DateTimeString")
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date() if text else None
    except ValueError as exc:
        raise EInvoiceUnreadable("a date is not YYYYMMDD") from exc


def read_amount(node: Any, path: str) -> Decimal:
    try:
        return Decimal(text_at(node, path) or "")
    except InvalidOperation as exc:
        raise EInvoiceUnreadable("an amount is missing or no number") from exc


def guess_kind(unit: Unit, description: str) -> ItemKind:
    """Hours and days are labour, kilometres and "Anfahrt" travel; anything else counts as other (no §35a share)."""
    if unit in (Unit.HOUR, Unit.DAY):
        return ItemKind.LABOR
    if unit is Unit.KILOMETRE or TRAVEL_WORDS.search(description):
        return ItemKind.TRAVEL
    return ItemKind.OTHER


def read_kind(line: Any, unit: Unit, description: str) -> ItemKind:
    """The item attribute "Leistungsart" (BG-32) this service writes; guessed for XML written before it did."""
    for attribute in line.xpath("ram:SpecifiedTradeProduct/ram:ApplicableProductCharacteristic", namespaces=NAMESPACES):
        kind = KINDS.get(text_at(attribute, "ram:Value") or "")
        if text_at(attribute, "ram:Description") == KIND_ATTRIBUTE and kind is not None:
            return kind
    return guess_kind(unit, description)


def read_item(line: Any) -> Item:
    """One invoice line (BG-25) as the extraction contract's item: net price, explicit VAT rate."""
    description = text_at(line, "ram:SpecifiedTradeProduct/ram:Name") or ""
    unit = UNITS.get(str(line.xpath("string(ram:SpecifiedLineTradeDelivery/ram:BilledQuantity/@unitCode)",
                                    namespaces=NAMESPACES)))
    if unit is None:
        raise EInvoiceUnreadable("a unit this service does not use")
    tax = "ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax"
    standard = text_at(line, f"{tax}/ram:CategoryCode") in ("S", "Z")
    return Item(description=description, unit=unit, kind=read_kind(line, unit, description),
                quantity=read_amount(line, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"),
                unit_price=read_amount(line, "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/"
                                             "ram:ChargeAmount"),
                vat_rate=read_amount(line, f"{tax}/ram:RateApplicablePercent") if standard else None)


def read_customer(root: Any) -> Customer:
    """The buyer (BG-7): a company with a contact person, a company, or a person; address, e-mail or Leitweg-ID,
    VAT id."""
    name = text_at(root, f"{BUYER}/ram:Name") or ""
    person = text_at(root, f"{BUYER}/ram:DefinedTradeContact/ram:PersonName")
    company = name if person or LEGAL_FORM.search(name) else None
    address = f"{BUYER}/ram:PostalTradeAddress"
    vat_id = text_at(root, f"{BUYER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']")
    leitweg_id = text_at(root, f"{BUYER}/ram:URIUniversalCommunication/ram:URIID[@schemeID='0204']")
    return Customer(name=person or name, company=company, vat_id=vat_id, leitweg_id=leitweg_id,
                    street=text_at(root, f"{address}/ram:LineOne"),
                    postal_code=text_at(root, f"{address}/ram:PostcodeCode"),
                    city=text_at(root, f"{address}/ram:CityName"),
                    country=text_at(root, f"{address}/ram:CountryID") or "DE",
                    email=text_at(root, f"{BUYER}/ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']"),
                    is_business=bool(company or vat_id or leitweg_id))


def read_fields(xml: bytes) -> tuple[InvoiceFields, Decimal]:
    """The invoice's fields as the extraction contract holds them, and its stated gross (BT-112)."""
    root = parse_xml(xml)
    lines = root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NAMESPACES)
    categories = set(root.xpath("//ram:SpecifiedLineTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode/text()",
                                namespaces=NAMESPACES))
    notes = [str(n).strip() for n in root.xpath("//rsm:ExchangedDocument/ram:IncludedNote/ram:Content/text()",
                                                namespaces=NAMESPACES) if str(n).strip() not in EXEMPTION_NOTES]
    discount = text_at(root, "//ram:SpecifiedTradeAllowanceCharge[ram:ChargeIndicator/udt:Indicator = 'false']/"
                             "ram:CalculationPercent")
    try:
        fields = InvoiceFields(customer=read_customer(root), items=[read_item(line) for line in lines],
                               service_date=read_date(root, "//ram:ActualDeliverySupplyChainEvent/"
                                                            "ram:OccurrenceDateTime"),
                               job_title=notes[0] if notes else None, notes=notes[1] if len(notes) > 1 else None,
                               discount_percent=Decimal(discount) if discount else None,
                               reverse_charge="AE" in categories, prices_include_vat=False,
                               intent=Intent.NEW_JOB)
    except (ValidationError, InvalidOperation) as exc:
        raise EInvoiceUnreadable("fields outside the extraction contract") from exc
    gross = read_amount(root, "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount")
    logger.debug("CII XML read back (%d lines)", len(lines))
    return fields, gross
