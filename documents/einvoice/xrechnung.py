"""XRechnung 3.0 (CII), the German public sector's CIUS of EN 16931: what it needs, and its BR-DE checks.

The checks restate the fatal KoSIT rules BR-DE-1..BR-DE-28 and the electronic addresses that XRechnung 3.0
makes mandatory (BT-34, BT-49) in our own XPath; the XSD and the EN 16931 Schematron run beside them.
"""
from __future__ import annotations

import logging
import re
from enum import Enum

from lxml import etree
from stdnum.de import leitweg

from documents.bank import is_valid_iban
from documents.einvoice.cii import GUIDELINE_XRECHNUNG
from documents.einvoice.parts import NAMESPACES
from extraction.models import Customer

logger = logging.getLogger(__name__)

AGREEMENT = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
SETTLEMENT = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
SELLER, BUYER = f"{AGREEMENT}/ram:SellerTradeParty", f"{AGREEMENT}/ram:BuyerTradeParty"
CONTACT = f"{SELLER}/ram:DefinedTradeContact"
MEANS = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
TRANSFER = f"{MEANS}[ram:TypeCode = '30' or ram:TypeCode = '58']"
GUIDELINE = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter"
# (rule, XPath 1.0 that must be true, what it demands)
RULES = (
    ("BR-DE-1", f"{MEANS}", "payment instructions (BG-16)"),
    ("BR-DE-2", CONTACT, "seller contact (BG-6)"),
    ("BR-DE-3", f"{SELLER}/ram:PostalTradeAddress/ram:CityName[normalize-space()]", "seller city (BT-37)"),
    ("BR-DE-4", f"{SELLER}/ram:PostalTradeAddress/ram:PostcodeCode[normalize-space()]", "seller post code (BT-38)"),
    ("BR-DE-5", f"{CONTACT}/ram:PersonName[normalize-space()] | {CONTACT}/ram:DepartmentName[normalize-space()]",
     "seller contact point (BT-41)"),
    ("BR-DE-6", f"{CONTACT}/ram:TelephoneUniversalCommunication/ram:CompleteNumber[normalize-space()]",
     "seller contact telephone (BT-42)"),
    ("BR-DE-7", f"{CONTACT}/ram:EmailURIUniversalCommunication/ram:URIID[normalize-space()]",
     "seller contact e-mail (BT-43)"),
    ("BR-DE-8", f"{BUYER}/ram:PostalTradeAddress/ram:CityName[normalize-space()]", "buyer city (BT-52)"),
    ("BR-DE-9", f"{BUYER}/ram:PostalTradeAddress/ram:PostcodeCode[normalize-space()]", "buyer post code (BT-53)"),
    ("BR-DE-14", f"not({SETTLEMENT}/ram:ApplicableTradeTax[not(ram:RateApplicablePercent[normalize-space()])])",
     "a rate (BT-119) in every VAT breakdown"),
    ("BR-DE-15", f"{AGREEMENT}/ram:BuyerReference[normalize-space()]", "buyer reference (BT-10)"),
    ("BR-DE-16", f"{SELLER}/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA' or @schemeID='FC'][normalize-space()]"
                 f" | {AGREEMENT}/ram:SellerTaxRepresentativeTradeParty", "seller VAT id or tax number (BT-31/32)"),
    ("BR-DE-18-a", f"not({SETTLEMENT}/ram:SpecifiedTradePaymentTerms[count(ram:Description) > 1])",
     "at most one payment terms text (BT-20)"),
    ("BR-DE-21", f"{GUIDELINE}/ram:ID = '{GUIDELINE_XRECHNUNG}'", "the XRechnung 3.0 specification id (BT-24)"),
    ("BR-DE-23-a", f"not({TRANSFER}[not(ram:PayeePartyCreditorFinancialAccount)])",
     "the credit transfer account (BG-17) for payment means 30/58"),
    ("BR-DE-23-b", f"not({TRANSFER}[ram:ApplicableTradeSettlementFinancialCard"
                   " or ram:PayerPartyDebtorFinancialAccount])",
     "no card (BG-18) or direct debit (BG-19) with 30/58"),
    ("PEPPOL-EN16931-R010", f"{BUYER}/ram:URIUniversalCommunication/ram:URIID[normalize-space()][@schemeID]",
     "buyer electronic address (BT-49)"),
    ("PEPPOL-EN16931-R020", f"{SELLER}/ram:URIUniversalCommunication/ram:URIID[normalize-space()][@schemeID]",
     "seller electronic address (BT-34)"),
)
SKONTO_LINE = re.compile(r"#SKONTO#TAGE=[0-9]+#PROZENT=[0-9]+\.[0-9]{2}(#BASISBETRAG=-?[0-9]+\.[0-9]{2})?#")


# BR-DE-28 as KoSIT's Schematron states it (a plausibility pattern, deliberately looser than a full e-mail check)
EMAIL = re.compile(r"[A-Za-z0-9!#$%&\"*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&\"*+/=?^_`{|}~-]+)*"
                   r"@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?")


class Gap(str, Enum):
    """What an XRechnung needs that the tenant's profile or the voice note did not give."""

    SELLER_PHONE = "seller_phone"  # BR-DE-6
    BUYER_ADDRESS = "buyer_address"  # BR-DE-8, BR-DE-9
    LEITWEG_ID = "leitweg_id"  # its check digits do not match (the contract already refuses a malformed one)


def find_xrechnung_gaps(seller_phone: str | None, customer: Customer) -> list[Gap]:
    """Why an XRechnung for this customer cannot be made yet; empty when it can."""
    gaps = [] if seller_phone else [Gap.SELLER_PHONE]
    if not (customer.postal_code and customer.city):
        gaps.append(Gap.BUYER_ADDRESS)
    if not (customer.leitweg_id and leitweg.is_valid(customer.leitweg_id)):
        gaps.append(Gap.LEITWEG_ID)
    return gaps


def check_xrechnung(xml: bytes) -> list[str]:
    """Broken XRechnung rules as "[RULE] demands ..."; empty when the XML meets them all."""
    root = etree.fromstring(xml)
    problems = [f"[{rule}] demands {what}" for rule, path, what in RULES
                if not root.xpath(f"boolean({path})", namespaces=NAMESPACES)]
    terms = root.xpath(f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:Description/text()", namespaces=NAMESPACES)
    for text in terms:
        if any(line.strip().startswith("#") and not SKONTO_LINE.fullmatch(line.strip()) for line in text.splitlines()):
            problems.append("[BR-DE-18] demands Skonto lines as #SKONTO#TAGE=n#PROZENT=n.nn#")
    for iban in root.xpath(f"{MEANS}[ram:TypeCode = '58']/ram:PayeePartyCreditorFinancialAccount/ram:IBANID/text()",
                           namespaces=NAMESPACES):
        if not is_valid_iban(iban):
            problems.append("[BR-DE-19] demands a valid IBAN (BT-84)")
    for phone in root.xpath(f"{CONTACT}/ram:TelephoneUniversalCommunication/ram:CompleteNumber/text()",
                            namespaces=NAMESPACES):
        if len(re.findall(r"[0-9]", phone)) < 3:
            problems.append("[BR-DE-27] demands at least three digits in the telephone number (BT-42)")
    for email in root.xpath(f"{CONTACT}/ram:EmailURIUniversalCommunication/ram:URIID/text()", namespaces=NAMESPACES):
        if not EMAIL.fullmatch(email.strip()):
            problems.append("[BR-DE-28] demands a plausible e-mail address (BT-43)")
    for leitweg_id in root.xpath(f"{BUYER}/ram:URIUniversalCommunication/ram:URIID[@schemeID='0204']/text()",
                                 namespaces=NAMESPACES):
        if not leitweg.is_valid(leitweg_id):
            problems.append("[LEITWEG-ID] demands matching check digits in the buyer's Leitweg-ID (BT-49)")
    return problems
