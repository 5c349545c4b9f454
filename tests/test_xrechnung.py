"""XRechnung 3.0 for public-sector customers: built when a Leitweg-ID is said, checked against XSD, EN 16931 and
the BR-DE rules, equal to the PDF; what is missing is asked for; the second download serves it."""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from pydantic import ValidationError
from pypdf import PdfReader
from sqlalchemy import select

from documents.amounts import compute_totals
from documents.einvoice.check import check_xsd
from documents.einvoice.xrechnung import Gap, check_xrechnung, find_xrechnung_gaps
from documents.files import render_documents
from documents.invoice import InvoiceDocument, Seller
from extraction.models import Customer, InvoiceFields
from services import get_services
from store.models import Invoice, InvoiceState, SealedContent, Tenant
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    INVOICE_LINK,
    TENANT_PHONE,
    AddTenant,
    Press,
    SendReply,
    SendText,
    SendVoiceNote,
    button_messages,
    load_cases,
)
from tests.schematron import NOT_FOR_XRECHNUNG, check_schematron

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
LEITWEG_ID = "04011000-1234512345-06"  # the KoSIT test suite's Leitweg-ID: valid check digits
SELLER = Seller(company="Sanitär Weber GmbH", street="Werkstattweg 5", postal_code="50823", city="Köln", country="DE",
                tax_number="217/5730/0815", vat_id=None, iban="DE89370400440532013000", bic="COBADEFFXXX",
                email="info@weber-sanitaer.de", phone="0221 123456")
TOWN_HALL = {"name": "Stadt Köln, Gebäudewirtschaft", "company": "Stadt Köln", "street": "Willy-Brandt-Platz 2",
             "postal_code": "50679", "city": "Köln", "is_business": True, "leitweg_id": LEITWEG_ID}
CASE = next(c for c in load_cases() if c["id"] == "waschbecken")


def public_document(**customer: Any) -> InvoiceDocument:
    fields = InvoiceFields.model_validate({"customer": {**TOWN_HALL, **customer}, "items": [
        {"description": "Arbeitszeit Elektriker", "quantity": "6", "unit": "h", "unit_price": "62", "kind": "labor"},
        {"description": "FI-Schutzschalter", "quantity": "2", "unit": "piece", "unit_price": "48.90",
         "kind": "material"}]})
    assert fields.customer is not None
    today = dt.date(2026, 11, 26)
    return InvoiceDocument(number="RE-2026-0042", issue_date=today, service_date=today,
                           due_date=today + dt.timedelta(days=30), language="de", seller=SELLER,
                           customer=fields.customer, job_title="Prüfung Elektroanlage Rathaus", notes=None,
                           totals=compute_totals(fields, Decimal(19)))


def values(xml: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=NS)]


def test_the_xrechnung_passes_xsd_en16931_and_br_de_and_says_what_the_pdf_says() -> None:
    documents = render_documents(public_document())
    assert set(documents) == {"pdf", "xrechnung"}
    xml = documents["xrechnung"]
    assert check_xsd(xml) == []
    assert check_schematron(xml, NOT_FOR_XRECHNUNG) == []
    assert check_xrechnung(xml) == []
    assert values(xml, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()") == [
        "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"]
    assert values(xml, "//ram:BuyerReference/text()") == [LEITWEG_ID]
    assert values(xml, "//ram:BuyerTradeParty/ram:URIUniversalCommunication/ram:URIID/@schemeID") == ["0204"]
    assert values(xml, "//ram:SellerTradeParty/ram:DefinedTradeContact/*/ram:CompleteNumber/text()") == ["0221 123456"]

    pdf = PdfReader(io.BytesIO(documents["pdf"]))
    text = "".join(page.extract_text() for page in pdf.pages)
    [embedded] = pdf.attachments["factur-x.xml"]
    gross = values(xml, "//ram:GrandTotalAmount/text()")
    assert gross == ["559.06"] and "559,06" in text  # 6 × 62 + 2 × 48.90 = 469.80 net, + 19 %
    assert gross == values(embedded, "//ram:GrandTotalAmount/text()")
    assert "RE-2026-0042" in text and values(xml, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID/text()") \
        == ["RE-2026-0042"]
    assert f"Leitweg-ID: {LEITWEG_ID}" in text  # the PDF names the routing id too
    assert values(embedded, "//ram:BuyerReference/text()") == [LEITWEG_ID]  # and the Factur-X XML
    assert check_schematron(embedded) == []


def test_without_a_leitweg_id_the_second_download_is_the_plain_en16931_xml() -> None:
    documents = render_documents(public_document(leitweg_id=None))
    assert set(documents) == {"pdf", "xml"}
    assert values(documents["xml"], "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()") == [
        "urn:cen.eu:en16931:2017"]


def drop(path: str) -> Callable[[Any], None]:
    def edit(root: Any) -> None:
        for element in root.xpath(path, namespaces=NS):
            element.getparent().remove(element)
    return edit


def set_text(path: str, text: str) -> Callable[[Any], None]:
    def edit(root: Any) -> None:
        for element in root.xpath(path, namespaces=NS):
            element.text = text
    return edit


@pytest.mark.parametrize(("edit", "rule"), [
    (drop("//ram:SellerTradeParty/ram:DefinedTradeContact"), "BR-DE-2"),
    (drop("//ram:SellerTradeParty/ram:DefinedTradeContact/ram:PersonName"), "BR-DE-5"),
    (drop("//ram:DefinedTradeContact/ram:TelephoneUniversalCommunication"), "BR-DE-6"),
    (set_text("//ram:DefinedTradeContact//ram:CompleteNumber", "ab"), "BR-DE-27"),
    (set_text("//ram:DefinedTradeContact//ram:URIID", "info@"), "BR-DE-28"),
    (drop("//ram:BuyerTradeParty//ram:PostcodeCode"), "BR-DE-9"),
    (drop("//ram:BuyerTradeParty//ram:CityName"), "BR-DE-8"),
    (drop("//ram:BuyerReference"), "BR-DE-15"),
    (drop("//ram:SellerTradeParty/ram:SpecifiedTaxRegistration"), "BR-DE-16"),
    (set_text("//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", "urn:cen.eu:en16931:2017"), "BR-DE-21"),
    (drop("//ram:SpecifiedTradeSettlementPaymentMeans"), "BR-DE-1"),
    (set_text("//ram:IBANID", "DE89370400440532013001"), "BR-DE-19"),
    (set_text("//ram:SpecifiedTradePaymentTerms/ram:Description", "#SKONTO#TAGE=7#PROZENT=2#\n"), "BR-DE-18"),
    (drop("//ram:BuyerTradeParty/ram:URIUniversalCommunication"), "PEPPOL-EN16931-R010"),
    (drop("//ram:SellerTradeParty/ram:URIUniversalCommunication"), "PEPPOL-EN16931-R020"),
    (set_text("//ram:BuyerTradeParty//ram:URIID", "04011000-1234512345-07"), "LEITWEG-ID"),
])
def test_each_broken_xrechnung_rule_is_named(edit: Callable[[Any], None], rule: str) -> None:
    root = etree.fromstring(render_documents(public_document())["xrechnung"])
    edit(root)
    problems = check_xrechnung(etree.tostring(root))
    assert any(problem.startswith(f"[{rule}]") for problem in problems), problems


@pytest.mark.parametrize(("value", "valid"), [
    ("04011000-1234512345-06", True), ("991-33333TEST-33", True), ("992-90009-96", True),
    ("04011000-1234512345-60", False), ("991-33333TEST-34", False), ("04011000-1234521345-06", False)])
def test_leitweg_id_check_digits(value: str, valid: bool) -> None:
    customer = Customer.model_validate({**TOWN_HALL, "leitweg_id": value})
    assert (Gap.LEITWEG_ID not in find_xrechnung_gaps("0221 123456", customer)) is valid


def test_the_contract_normalises_a_leitweg_id_and_explains_a_malformed_one() -> None:
    assert Customer.model_validate({"name": "Stadt Köln", "leitweg_id": " 991-33333test-33 "}).leitweg_id \
        == "991-33333TEST-33"
    assert Customer.model_validate({"name": "Stadt Köln", "leitweg_id": ""}).leitweg_id is None
    assert Customer.model_validate({"name": "Stadt Köln", "leitweg_id": "04011000 - 1234512345 - 06"}).leitweg_id \
        == "04011000-1234512345-06"
    for malformed in ("Rathaus Köln", "17-33333TEST-33"):  # 17: no state's code
        with pytest.raises(ValidationError, match="leitweg_id must look like"):
            Customer.model_validate({"name": "Stadt Köln", "leitweg_id": malformed})


def test_gaps_name_what_an_xrechnung_still_needs() -> None:
    complete = Customer.model_validate(TOWN_HALL)
    assert find_xrechnung_gaps("0221 123456", complete) == []
    no_address = complete.model_copy(update={"postal_code": None, "leitweg_id": "991-33333TEST-34"})
    assert find_xrechnung_gaps(None, no_address) == [Gap.SELLER_PHONE, Gap.BUYER_ADDRESS, Gap.LEITWEG_ID]


# on the main path ----------------------------------------------------------------------------------------------
def public_case() -> dict[str, Any]:
    return {**CASE, "fields": {**CASE["fields"], "customer": TOWN_HALL}}


def last_reply(whatsapp_fake: FakeWhatsApp) -> str:
    return whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]


def invoice_rows(app: Flask) -> list[tuple[InvoiceState, str | None]]:
    with get_services(app).db.session() as session:
        return [(i.state, i.number) for i in session.scalars(select(Invoice))]


def download_xrechnung(client: FlaskClient, reply: str) -> bytes:
    """The second download of the invoice a reply links to: the XRechnung (and no plain XML)."""
    match = INVOICE_LINK.search(reply)
    assert match, reply
    path = match.group(1)
    page = client.get(path).get_data(as_text=True)
    assert f'action="{path}/xrechnung"' in page and "XRechnung 3.0" in page and f'action="{path}/xml"' not in page
    assert client.post(f"{path}/xml").status_code == 404  # no plain XML for this invoice: nothing consumed
    response = client.post(f"{path}/xrechnung")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert "XRechnung.xml" in response.headers["Content-Disposition"]
    xml = response.data
    assert check_xsd(xml) == [] and check_xrechnung(xml) == [] and check_schematron(xml, NOT_FOR_XRECHNUNG) == []
    return xml


def test_a_leitweg_id_without_a_profile_phone_asks_for_it_then_the_xrechnung_is_the_second_download(
        app: Flask, client: FlaskClient, tenant: int, send_voice_note: SendVoiceNote, send_text: SendText,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    send_voice_note(public_case())
    run_worker()
    [question] = button_messages(whatsapp_fake)
    assert "XRechnung an Stadt Köln, Gebäudewirtschaft" in question.text
    assert "Telefonnummer im Profil" in question.text and "KONTO" in question.text
    assert question.titles == ["Verwerfen"]  # nothing to create before the profile has the phone
    send_text("OK")  # creating anyway only repeats the question
    run_worker()
    assert "Telefonnummer im Profil" in button_messages(whatsapp_fake)[-1].text
    assert invoice_rows(app) == [(InvoiceState.DRAFT, None)]  # nothing half-done: no number used
    assert whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+")) == []

    with get_services(app).db.session() as session:  # the phone entered on the account page
        session.get_one(Tenant, tenant).business_phone = "0221 555 0190"
    send_text("OK")
    run_worker()
    xml = download_xrechnung(client, last_reply(whatsapp_fake))
    assert values(xml, "//ram:GrandTotalAmount/text()") == [CASE["expected"]["gross"]]
    assert values(xml, "//ram:BuyerReference/text()") == [LEITWEG_ID]
    assert values(xml, "//ram:DefinedTradeContact//ram:CompleteNumber/text()") == ["0221 555 0190"]
    with get_services(app).db.session() as session:
        assert session.scalars(select(SealedContent)).all() == []  # the download ended the content


def test_a_leitweg_id_with_wrong_check_digits_and_no_address_is_asked_back_and_the_answer_completes_it(
        app: Flask, client: FlaskClient, tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply,
        press: Press, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp,
        anthropic_fake: FakeAnthropic) -> None:
    with get_services(app).db.session() as session:
        session.get_one(Tenant, tenant).business_phone = "0221 555 0190"
    customer = {**TOWN_HALL, "leitweg_id": "04011000-1234512345-60", "postal_code": None}
    fields = {**CASE["fields"], "customer": customer}
    send_voice_note({**CASE, "fields": fields})
    run_worker()
    [question] = button_messages(whatsapp_fake)
    assert "passen die Prüfziffern nicht" in question.text and "04011000-1234512345-60" in question.text
    assert "Postleitzahl und Ort von Stadt Köln, Gebäudewirtschaft" in question.text
    assert "Telefonnummer" not in question.text
    assert question.titles == ["Verwerfen"]
    assert invoice_rows(app) == [(InvoiceState.DRAFT, None)]

    answer = f"Die Leitweg-ID ist {LEITWEG_ID}, die Postleitzahl 50679"
    anthropic_fake.add_reply(answer, {**fields, "customer": TOWN_HALL, "intent": "correction"})
    send_reply(answer, quoting=question.wamid)
    run_worker()
    draft = button_messages(whatsapp_fake)[-1]
    assert LEITWEG_ID in draft.text and "50679" in draft.text and "Prüfziffern" not in draft.text
    assert draft.titles == ["Erstellen", "Ändern", "Verwerfen"]
    assert whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+")) == []

    press("Erstellen")
    run_worker()
    xml = download_xrechnung(client, last_reply(whatsapp_fake))
    assert values(xml, "//ram:BuyerReference/text()") == [LEITWEG_ID]
    assert values(xml, "//ram:BuyerTradeParty//ram:PostcodeCode/text()") == ["50679"]
    assert values(xml, "//ram:GrandTotalAmount/text()") == [CASE["expected"]["gross"]]


def test_english_tenants_are_asked_in_english(
        app: Flask, add_tenant: AddTenant, send_voice_note: SendVoiceNote,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    add_tenant(language="en")
    send_voice_note(public_case())
    run_worker()
    [question] = button_messages(whatsapp_fake)
    assert "For the XRechnung to Stadt Köln, Gebäudewirtschaft I still need" in question.text
    assert "your phone number in your profile" in question.text and "ACCOUNT" in question.text
    assert question.titles == ["Discard"]
