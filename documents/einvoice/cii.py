"""The invoice as EN 16931 CII XML (Factur-X 1.0 / ZUGFeRD 2.x, profile EN 16931), with the PDF's values."""
from __future__ import annotations

import logging
from decimal import Decimal
from enum import Enum
from typing import Any

from lxml import etree

from documents.amounts import CENT, PRICE_PLACES, Line, TaxMode
from documents.einvoice.parties import add_buyer, add_seller
from documents.einvoice.parts import (
    NAMESPACES,
    add_date,
    add_element,
    add_tax,
    categorize_vat,
    describe_exemption,
    format_amount,
)
from documents.einvoice.settlement import add_settlement
from documents.invoice import DocumentKind, InvoiceDocument
from documents.labels import LABELS, language_of
from extraction.models import ItemKind

logger = logging.getLogger(__name__)

GUIDELINE_EN16931 = "urn:cen.eu:en16931:2017"
GUIDELINE_XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_BILLING = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"  # BT-23, as XRechnung recommends
INVOICE_TYPE = "380"  # UNTDID 1001: commercial invoice
CREDIT_NOTE_TYPE = "381"  # UNTDID 1001: credit note, the Stornorechnung's type (its amounts stay positive)
# UN/ECE Recommendation 20 codes of the units in extraction.models.Unit
KIND_ATTRIBUTE = "Leistungsart"  # BT-160: the item's kind (BT-161), so that a returned invoice reads back exactly
KIND_VALUES = {ItemKind.LABOR: "Arbeitsleistung", ItemKind.MATERIAL: "Material", ItemKind.TRAVEL: "Fahrtkosten",
               ItemKind.OTHER: "Sonstiges"}
UNIT_CODES = {"h": "HUR", "piece": "H87", "m": "MTR", "m2": "MTK", "m3": "MTQ", "km": "KMT", "kg": "KGM",
              "l": "LTR", "day": "DAY", "lump_sum": "LS"}


class Profile(str, Enum):
    """Which specification the XML claims (BT-24): EN 16931 itself, or the German CIUS XRechnung 3.0."""

    EN16931 = "en16931"
    XRECHNUNG = "xrechnung"


def build_cii_xml(doc: InvoiceDocument, *, buyer_vat_id: str | None = None,
                  profile: Profile = Profile.EN16931) -> bytes:
    """The CII XML (UTF-8) of an invoice; buyer_vat_id (BT-48) is what reverse charge needs for BR-AE-02.

    XRechnung adds the business process (BT-23) and its specification id; its other demands (buyer reference
    and electronic address, seller contact with telephone) come from the data: see documents.einvoice.xrechnung.
    """
    root = etree.Element(f"{{{NAMESPACES['rsm']}}}CrossIndustryInvoice", nsmap=NAMESPACES)
    context = add_element(root, "rsm:ExchangedDocumentContext")
    if profile is Profile.XRECHNUNG:
        add_element(add_element(context, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID",
                    PEPPOL_BILLING)
    guideline = GUIDELINE_XRECHNUNG if profile is Profile.XRECHNUNG else GUIDELINE_EN16931
    add_element(add_element(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", guideline)
    add_header(root, doc)
    transaction = add_element(root, "rsm:SupplyChainTradeTransaction")
    for index, line in enumerate(doc.totals.lines, start=1):
        add_line(transaction, index, line, doc.totals.tax_mode)
    agreement = add_element(transaction, "ram:ApplicableHeaderTradeAgreement")
    if doc.customer.leitweg_id:  # BT-10: the public-sector buyer routes the invoice by it
        add_element(agreement, "ram:BuyerReference", doc.customer.leitweg_id)
    add_seller(agreement, doc.seller)
    add_buyer(agreement, doc.customer, buyer_vat_id or doc.customer.vat_id)
    delivery = add_element(transaction, "ram:ApplicableHeaderTradeDelivery")
    event = add_element(delivery, "ram:ActualDeliverySupplyChainEvent")
    add_date(add_element(event, "ram:OccurrenceDateTime"), doc.service_date or doc.issue_date)
    add_settlement(transaction, doc)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    logger.debug("CII XML (%s) built (%d lines, %d bytes)", profile.value, len(doc.totals.lines), len(xml))
    return xml


def describe_cancelled(doc: InvoiceDocument) -> str | None:
    """ "Storno zur Rechnung RE-2026-0042 vom 21.11.2026" on a Stornorechnung, else None."""
    if doc.cancels is None:
        return None
    language = language_of(doc)
    day = doc.cancels.issue_date.strftime("%d.%m.%Y" if language == "de" else "%d %b %Y")
    return LABELS[language]["cancellation_of"].format(number=doc.cancels.number, date=day)


def format_price(value: Decimal) -> str:
    """A unit price with 2 to 4 decimals: 55 -> "55.00", 84.03361 -> "84.0336"."""
    price = value.quantize(PRICE_PLACES)
    return f"{price.quantize(CENT) if price == price.quantize(CENT) else price:f}"


def format_quantity(value: Decimal) -> str:
    """A quantity without trailing zeros and at most 4 decimals: 2.50 -> "2.5"."""
    quantity = value.quantize(PRICE_PLACES).normalize()
    return f"{quantity.quantize(Decimal(1)) if quantity == quantity.to_integral() else quantity:f}"


def add_header(root: Any, doc: InvoiceDocument) -> None:
    """BT-1 number, BT-3 type, BT-2 issue date and the notes (BT-22) the PDF shows.

    A Stornorechnung is a credit note (381) with the cancelled invoice's amounts as they were: the type code reverses
    them (negative amounts under 381 would reverse them twice); its first note names the cancelled invoice.
    """
    header = add_element(root, "rsm:ExchangedDocument")
    add_element(header, "ram:ID", doc.number)
    cancellation = doc.kind is DocumentKind.CANCELLATION
    add_element(header, "ram:TypeCode", CREDIT_NOTE_TYPE if cancellation else INVOICE_TYPE)
    add_date(add_element(header, "ram:IssueDateTime"), doc.issue_date)
    reason, _ = describe_exemption(doc.totals.tax_mode, language_of(doc))
    for text in (describe_cancelled(doc), doc.job_title, doc.notes, reason):
        if text:
            add_element(add_element(header, "ram:IncludedNote"), "ram:Content", text)


def add_line(transaction: Any, index: int, line: Line, tax_mode: TaxMode) -> None:
    """One invoice line (BG-25): its kind as an item attribute, quantity, net price, VAT category and line net."""
    item = add_element(transaction, "ram:IncludedSupplyChainTradeLineItem")
    add_element(add_element(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(index))
    product = add_element(item, "ram:SpecifiedTradeProduct")
    add_element(product, "ram:Name", line.description)
    attribute = add_element(product, "ram:ApplicableProductCharacteristic")  # BG-32: labour, material, travel
    add_element(attribute, "ram:Description", KIND_ATTRIBUTE)
    add_element(attribute, "ram:Value", KIND_VALUES[line.kind])
    price = add_element(add_element(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
    add_element(price, "ram:ChargeAmount", format_price(line.unit_price))
    delivery = add_element(item, "ram:SpecifiedLineTradeDelivery")
    add_element(delivery, "ram:BilledQuantity", format_quantity(line.quantity), unitCode=UNIT_CODES[line.unit])
    settlement = add_element(item, "ram:SpecifiedLineTradeSettlement")
    add_tax(add_element(settlement, "ram:ApplicableTradeTax"), categorize_vat(tax_mode, line.vat_rate), line.vat_rate)
    summation = add_element(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    add_element(summation, "ram:LineTotalAmount", format_amount(line.net))
