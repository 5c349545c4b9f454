"""CII XML parts of the parties: seller (BG-4), buyer (BG-7) and the seller's bank account (BG-16)."""
from __future__ import annotations

import logging
from typing import Any

from documents.bank import compact_bic, compact_iban
from documents.einvoice.parts import add_element
from documents.invoice import Seller
from extraction.models import Customer

logger = logging.getLogger(__name__)

SEPA_CREDIT_TRANSFER = "58"  # UNTDID 4461
LEITWEG_SCHEME = "0204"  # CEF EAS: the German Leitweg-ID, the electronic address of public-sector buyers


def compact(text: str) -> str:
    """A VAT id without spaces, upper case."""
    return text.replace(" ", "").upper()


def add_address(party: Any, street: str | None, postal_code: str | None, city: str | None, country: str) -> None:
    """A postal address (BG-5, BG-8); the country code is the one mandatory part."""
    address = add_element(party, "ram:PostalTradeAddress")
    if postal_code:
        add_element(address, "ram:PostcodeCode", postal_code)
    if street:
        add_element(address, "ram:LineOne", street)
    if city:
        add_element(address, "ram:CityName", city)
    add_element(address, "ram:CountryID", country.upper())


def add_seller(agreement: Any, seller: Seller) -> None:
    """Seller: name, contact (BG-6), address, e-mail (BT-34) and VAT id (VA) / tax number (FC)."""
    party = add_element(agreement, "ram:SellerTradeParty")
    if not seller.vat_id and seller.tax_number:
        # BR-CO-26 wants BT-29, BT-30 or BT-31; without a VAT id the tax number identifies the seller
        add_element(party, "ram:ID", seller.tax_number)
    add_element(party, "ram:Name", seller.company)
    contact = add_element(party, "ram:DefinedTradeContact")
    add_element(contact, "ram:PersonName", seller.company)  # BT-41: the business is the contact point
    if seller.phone:
        add_element(add_element(contact, "ram:TelephoneUniversalCommunication"), "ram:CompleteNumber", seller.phone)
    add_element(add_element(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", seller.email)
    add_address(party, seller.street, seller.postal_code, seller.city, seller.country)
    add_element(add_element(party, "ram:URIUniversalCommunication"), "ram:URIID", seller.email, schemeID="EM")
    if seller.vat_id:
        add_element(add_element(party, "ram:SpecifiedTaxRegistration"), "ram:ID", compact(seller.vat_id),
                    schemeID="VA")
    if seller.tax_number:
        add_element(add_element(party, "ram:SpecifiedTaxRegistration"), "ram:ID", seller.tax_number,
                    schemeID="FC")


def add_buyer(agreement: Any, customer: Customer, vat_id: str | None) -> None:
    """Buyer: the company (or the person), the person as contact, address, Leitweg-ID or e-mail, VAT id."""
    party = add_element(agreement, "ram:BuyerTradeParty")
    add_element(party, "ram:Name", customer.company or customer.name)
    if customer.company and customer.company != customer.name:
        add_element(add_element(party, "ram:DefinedTradeContact"), "ram:PersonName", customer.name)
    add_address(party, customer.street, customer.postal_code, customer.city, customer.country)
    if customer.leitweg_id:  # BT-49 (0..1): public-sector buyers are addressed by their Leitweg-ID
        add_element(add_element(party, "ram:URIUniversalCommunication"), "ram:URIID", customer.leitweg_id,
                    schemeID=LEITWEG_SCHEME)
    elif customer.email:
        add_element(add_element(party, "ram:URIUniversalCommunication"), "ram:URIID", customer.email,
                    schemeID="EM")
    if vat_id:
        add_element(add_element(party, "ram:SpecifiedTaxRegistration"), "ram:ID", compact(vat_id), schemeID="VA")


def add_payment_means(settlement: Any, seller: Seller) -> None:
    """SEPA credit transfer (58) to the seller's IBAN, with the BIC when known."""
    means = add_element(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
    add_element(means, "ram:TypeCode", SEPA_CREDIT_TRANSFER)
    account = add_element(means, "ram:PayeePartyCreditorFinancialAccount")
    add_element(account, "ram:IBANID", compact_iban(seller.iban))
    add_element(account, "ram:AccountName", seller.company)
    if seller.bic:
        add_element(add_element(means, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID",
                    compact_bic(seller.bic))
