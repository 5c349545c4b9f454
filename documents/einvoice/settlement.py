"""CII XML settlement: remittance, payment means, VAT breakdown, discounts, payment terms and totals."""
from __future__ import annotations

import logging
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency

from documents.amounts import TaxMode, VatGroup, round_cents
from documents.einvoice.parties import add_payment_means
from documents.einvoice.parts import (
    add_date,
    add_element,
    add_tax,
    categorize_vat,
    describe_exemption,
    format_amount,
)
from documents.invoice import DocumentKind, InvoiceDocument
from documents.labels import LABELS, LOCALES, language_of

logger = logging.getLogger(__name__)

DISCOUNT_REASON = {"de": "Rabatt", "en": "Discount"}
DISCOUNT_REASON_CODE = "95"  # UNTDID 5189: discount


def add_vat_breakdown(settlement: Any, group: VatGroup, tax_mode: TaxMode, language: str) -> None:
    """One VAT breakdown (BG-23) per rate, as the Totals group computes it."""
    tax = add_element(settlement, "ram:ApplicableTradeTax")
    add_element(tax, "ram:CalculatedAmount", format_amount(group.vat))
    add_element(tax, "ram:TypeCode", "VAT")
    reason, code = describe_exemption(tax_mode, language)
    if reason:
        add_element(tax, "ram:ExemptionReason", reason)
    add_element(tax, "ram:BasisAmount", format_amount(group.net))
    add_element(tax, "ram:CategoryCode", categorize_vat(tax_mode, group.rate))
    if code:
        add_element(tax, "ram:ExemptionReasonCode", code)
    add_element(tax, "ram:RateApplicablePercent", format_amount(group.rate))


def add_discount(settlement: Any, group: VatGroup, doc: InvoiceDocument) -> None:
    """The document discount of one VAT rate as a document level allowance (BG-20)."""
    allowance = add_element(settlement, "ram:SpecifiedTradeAllowanceCharge")
    add_element(add_element(allowance, "ram:ChargeIndicator"), "udt:Indicator", "false")
    add_element(allowance, "ram:CalculationPercent", format_amount(doc.totals.discount_percent))
    add_element(allowance, "ram:BasisAmount", format_amount(group.subtotal))
    add_element(allowance, "ram:ActualAmount", format_amount(group.discount))
    add_element(allowance, "ram:ReasonCode", DISCOUNT_REASON_CODE)
    add_element(allowance, "ram:Reason", DISCOUNT_REASON[language_of(doc)])
    category = categorize_vat(doc.totals.tax_mode, group.rate)
    add_tax(add_element(allowance, "ram:CategoryTradeTax"), category, group.rate)


def describe_payment(doc: InvoiceDocument) -> str:
    """The payment terms text (BT-20) exactly as the PDF prints it."""
    language = language_of(doc)
    if doc.kind is DocumentKind.CANCELLATION and doc.cancels is not None:
        return LABELS[language]["cancellation_payment"].format(number=doc.cancels.number)
    gross = format_currency(round_cents(doc.totals.gross), "EUR", locale=LOCALES[language])
    due = format_date(doc.due_date, "medium", locale=LOCALES[language])
    return LABELS[language]["payment"].format(gross=gross, due=due, number=doc.number)


def add_settlement(transaction: Any, doc: InvoiceDocument) -> None:
    """Remittance (BT-83), payment means, VAT breakdown, allowances, terms and totals (BT-106..BT-115)."""
    totals = doc.totals
    settlement = add_element(transaction, "ram:ApplicableHeaderTradeSettlement")
    add_element(settlement, "ram:PaymentReference", doc.number)
    add_element(settlement, "ram:InvoiceCurrencyCode", "EUR")
    add_payment_means(settlement, doc.seller)
    for group in totals.groups:
        add_vat_breakdown(settlement, group, totals.tax_mode, language_of(doc))
    for group in totals.groups:
        if group.discount:
            add_discount(settlement, group, doc)
    terms = add_element(settlement, "ram:SpecifiedTradePaymentTerms")
    add_element(terms, "ram:Description", describe_payment(doc))
    add_date(add_element(terms, "ram:DueDateDateTime"), doc.due_date)
    summation = add_element(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    add_element(summation, "ram:LineTotalAmount", format_amount(totals.subtotal))
    if totals.discount:
        add_element(summation, "ram:AllowanceTotalAmount", format_amount(totals.discount))
    add_element(summation, "ram:TaxBasisTotalAmount", format_amount(totals.net))
    add_element(summation, "ram:TaxTotalAmount", format_amount(totals.vat), currencyID="EUR")
    add_element(summation, "ram:GrandTotalAmount", format_amount(totals.gross))
    add_element(summation, "ram:DuePayableAmount", format_amount(totals.gross))
    if doc.cancels is not None:  # BG-3: the invoice a Stornorechnung cancels, its number (BT-25) and date (BT-26)
        referenced = add_element(settlement, "ram:InvoiceReferencedDocument")
        add_element(referenced, "ram:IssuerAssignedID", doc.cancels.number)
        add_element(add_element(referenced, "ram:FormattedIssueDateTime"), "qdt:DateTimeString",
                    f"{doc.cancels.issue_date:%Y%m%d}", format="102")
