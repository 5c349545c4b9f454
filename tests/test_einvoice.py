"""E-invoice golden cases: fields -> totals -> PDF -> CII XML -> Factur-X PDF/A-3b, checked against each other."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache
from typing import Any

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from documents import RenderFailed
from documents.amounts import TaxMode, compute_totals
from documents.einvoice.check import check_xsd
from documents.einvoice.cii import UNIT_CODES, build_cii_xml
from documents.einvoice.facturx import embed_factur_x
from documents.invoice import InvoiceDocument, Seller
from documents.pdf.render import render_invoice_pdf
from extraction.models import InvoiceFields, Unit
from tests.schematron import check_schematron

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
}
SELLER = Seller(company="Sanitär Weber GmbH", street="Werkstattweg 5", postal_code="50823", city="Köln", country="DE",
                tax_number="217/5730/0815", vat_id=None, iban="DE89 3704 0044 0532 0130 00", bic="COBADEFFXXX",
                email="info@weber-sanitaer.de", phone="0221 123456")
BUYER_VAT_ID = "DE123456789"
PRIVATE = {"name": "Thomas Müller", "street": "Lindenstraße 12", "postal_code": "50674", "city": "Köln"}
BUSINESS = {"name": "Bäckerei Schneider GmbH", "company": "Bäckerei Schneider GmbH", "street": "Hauptstraße 3",
            "postal_code": "80331", "city": "München", "is_business": True}


def item(description: str, quantity: str, unit: str, price: str, kind: str = "material",
         vat_rate: int | None = None) -> dict[str, Any]:
    return {"description": description, "quantity": quantity, "unit": unit, "unit_price": price, "kind": kind,
            "vat_rate": vat_rate}


BATHROOM = [item("Arbeitszeit", "3", "h", "58", "labor"), item("Waschbecken", "1", "piece", "129"),
            item("Anfahrt", "1", "lump_sum", "15", "travel")]
MANY = [item(f"Position {n}: Material {n}", str(n % 7 + 1), list(Unit)[n % len(Unit)].value, f"{n * 1.37 + 2:.2f}")
        for n in range(1, 46)]


@dataclass(frozen=True)
class Case:
    fields: dict[str, Any]
    tax_mode: TaxMode = TaxMode.STANDARD
    categories: tuple[str, ...] = ("S",)  # VAT breakdown categories, highest rate first
    note: str | None = None  # the tax note the PDF prints instead of a VAT line


CASES: dict[str, Case] = {
    "regular": Case({"customer": PRIVATE, "items": BATHROOM, "job_title": "Austausch Waschbecken im Bad"}),
    "small_business": Case({"customer": PRIVATE, "items": BATHROOM}, TaxMode.SMALL_BUSINESS, ("E",),
                           "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet."),
    "reverse_charge": Case({"customer": BUSINESS, "service_date": "2026-11-18", "reverse_charge": True,
                            "items": [item("Elektroinstallation", "2", "h", "65", "labor"),
                                      item("Steckdose", "3", "piece", "8.50")]},
                           TaxMode.REVERSE_CHARGE, ("AE",), "Steuerschuldnerschaft des Leistungsempfängers"),
    "zero_rate": Case({"customer": PRIVATE, "items": [item("Montage Photovoltaikanlage", "8", "h", "60", "labor"),
                                                      item("Solarmodul 420 Wp", "10", "piece", "189.90",
                                                           vat_rate=0)]},
                      categories=("S", "Z")),
    "discount": Case({"customer": PRIVATE, "discount_percent": "5",
                      "items": [item("Malerarbeiten", "16", "h", "48", "labor"), item("Wandfarbe", "12", "l", "6.90"),
                                item("Zimmerpflanze", "2", "piece", "14.95", vat_rate=7)]},
                     categories=("S", "S")),
    "gross_prices": Case({"customer": PRIVATE, "prices_include_vat": True,
                          "items": [item("Arbeitszeit", "1.5", "h", "59.50", "labor"),
                                    item("Dichtungssatz", "3", "piece", "19.95"),
                                    item("Anfahrt", "1", "lump_sum", "35", "travel")]}),
    "many_items": Case({"customer": BUSINESS, "items": MANY}),
    "letters": Case({"customer": {"name": "İsmail Şahin-Łęcki", "street": "Große Straße 7", "postal_code": "44137",
                                  "city": "Dortmund"},
                     "job_title": "Prüfung Gaszähler, Montaż okien",
                     "items": [item("Weißer Fußbodenheizungsverteiler", "1", "piece", "245"),
                               item("Işık armatürü değiştirme (ğ, ş, İ, ı)", "2", "h", "55", "labor"),
                               item("Montaż okna łazienkowego (ł, ń, ż, ś)", "1", "lump_sum", "120", "labor")]}),
}


@dataclass(frozen=True)
class Produced:
    doc: InvoiceDocument
    xml: bytes
    pdf: bytes


@cache
def produce(case_id: str) -> Produced:
    """The whole chain of one case, once per test run."""
    case = CASES[case_id]
    fields = InvoiceFields.model_validate(case.fields)
    assert fields.customer is not None
    doc = InvoiceDocument(number="2026-0042", issue_date=dt.date(2026, 11, 21), service_date=fields.service_date,
                          due_date=dt.date(2026, 12, 5), language="de", seller=SELLER, customer=fields.customer,
                          job_title=fields.job_title, notes=fields.notes,
                          totals=compute_totals(fields, Decimal(19), case.tax_mode))
    pdf = render_invoice_pdf(doc)
    xml = build_cii_xml(doc, buyer_vat_id=BUYER_VAT_ID if case.tax_mode is TaxMode.REVERSE_CHARGE else None)
    final = embed_factur_x(pdf, xml, number=doc.number, issue_date=doc.issue_date, seller_name=SELLER.company,
                           language=doc.language)
    return Produced(doc, xml, final)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text with whitespace runs (line breaks, no-break spaces) collapsed to one space."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


def german_money(amount: Decimal | str) -> str:
    """'1234.5' -> '1.234,50 €'."""
    return f"{Decimal(amount):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".") + " €"


def value(node: Any, path: str) -> str:
    found = node.xpath(path, namespaces=NS)
    assert len(found) == 1, f"{path}: {len(found)} matches"
    return str(found[0].text if hasattr(found[0], "text") else found[0])


def amount(node: Any, path: str) -> Decimal:
    return Decimal(value(node, path))


@pytest.mark.parametrize("case_id", CASES)
def test_pdf_shows_number_customer_and_amounts(case_id: str) -> None:
    produced = produce(case_id)
    totals = produced.doc.totals
    text = pdf_text(produced.pdf)

    assert "Rechnungsnummer 2026-0042" in text
    assert produced.doc.customer.name in text
    assert f"Nettobetrag {german_money(totals.net)}" in text
    assert f"Gesamtbetrag {german_money(totals.gross)}" in text
    for group in totals.groups:
        if group.vat:
            assert german_money(group.vat) in text
    note = CASES[case_id].note
    if note:
        assert note in text
        assert totals.vat == 0
    for line in totals.lines:
        assert line.description in text
        assert german_money(line.net) in text


@pytest.mark.parametrize("case_id", CASES)
def test_xml_values_equal_the_pdf_and_the_totals(case_id: str) -> None:
    produced = produce(case_id)
    doc, totals = produced.doc, produced.doc.totals
    root = etree.fromstring(produced.xml)
    text = pdf_text(produced.pdf)

    assert value(root, "//rsm:ExchangedDocumentContext//ram:ID") == "urn:cen.eu:en16931:2017"
    assert value(root, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID") == doc.number
    assert value(root, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString") == "20261121"
    delivery = doc.service_date or doc.issue_date
    assert value(root, "//ram:ActualDeliverySupplyChainEvent//udt:DateTimeString") == f"{delivery:%Y%m%d}"
    assert value(root, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString") == "20261205"
    terms = " ".join(value(root, "//ram:SpecifiedTradePaymentTerms/ram:Description").split())
    assert german_money(totals.gross) in terms
    assert terms in text
    seller = root.xpath("//ram:SellerTradeParty", namespaces=NS)[0]
    assert value(seller, "ram:Name") == SELLER.company
    assert value(seller, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']") == SELLER.tax_number
    assert value(seller, "ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']") == SELLER.email
    buyer = root.xpath("//ram:BuyerTradeParty", namespaces=NS)[0]
    assert value(buyer, "ram:Name") == (doc.customer.company or doc.customer.name)
    assert value(buyer, "ram:PostalTradeAddress/ram:CityName") == doc.customer.city
    assert value(buyer, "ram:PostalTradeAddress/ram:CountryID") == "DE"
    assert value(root, "//ram:PaymentReference") == doc.number
    assert value(root, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "58"
    assert value(root, "//ram:IBANID") == "DE89370400440532013000"
    assert value(root, "//ram:BICID") == "COBADEFFXXX"

    items = root.xpath("//ram:IncludedSupplyChainTradeLineItem", namespaces=NS)
    assert len(items) == len(totals.lines)
    for number, (node, line) in enumerate(zip(items, totals.lines, strict=True), start=1):
        assert value(node, ".//ram:LineID") == str(number)
        assert value(node, ".//ram:SpecifiedTradeProduct/ram:Name") == line.description
        assert amount(node, ".//ram:BilledQuantity") == line.quantity
        assert value(node, ".//ram:BilledQuantity/@unitCode") == UNIT_CODES[line.unit]
        assert amount(node, ".//ram:ChargeAmount") == line.unit_price.quantize(Decimal("0.0001"))
        assert amount(node, ".//ram:LineTotalAmount") == line.net
        assert german_money(amount(node, ".//ram:LineTotalAmount")) in text
        assert amount(node, ".//ram:ApplicableTradeTax/ram:RateApplicablePercent") == line.vat_rate

    breakdown = root.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS)
    assert [value(node, "ram:CategoryCode") for node in breakdown] == list(CASES[case_id].categories)
    for node, group in zip(breakdown, totals.groups, strict=True):
        assert amount(node, "ram:RateApplicablePercent") == group.rate
        assert amount(node, "ram:BasisAmount") == group.net
        assert amount(node, "ram:CalculatedAmount") == group.vat
    allowances = root.xpath("//ram:SpecifiedTradeAllowanceCharge", namespaces=NS)
    assert [amount(node, "ram:ActualAmount") for node in allowances] == [g.discount for g in totals.groups
                                                                         if g.discount]

    summation = root.xpath("//ram:SpecifiedTradeSettlementHeaderMonetarySummation", namespaces=NS)[0]
    assert amount(summation, "ram:LineTotalAmount") == totals.subtotal
    assert amount(summation, "ram:TaxBasisTotalAmount") == totals.net
    assert amount(summation, "ram:TaxTotalAmount") == totals.vat
    assert amount(summation, "ram:GrandTotalAmount") == totals.gross
    assert amount(summation, "ram:DuePayableAmount") == totals.gross
    assert f"Gesamtbetrag {german_money(amount(summation, 'ram:GrandTotalAmount'))}" in text
    assert f"Nettobetrag {german_money(amount(summation, 'ram:TaxBasisTotalAmount'))}" in text
    if totals.discount:
        assert amount(summation, "ram:AllowanceTotalAmount") == totals.discount
        assert f"−{german_money(totals.discount)}" in text


@pytest.mark.parametrize("case_id", CASES)
def test_xml_passes_xsd_and_schematron(case_id: str) -> None:
    xml = produce(case_id).xml

    assert check_xsd(xml) == []
    assert check_schematron(xml) == []


@pytest.mark.parametrize("case_id", CASES)
def test_pdf_is_factur_x_pdfa3_with_the_xml_embedded(case_id: str) -> None:
    produced = produce(case_id)
    reader = PdfReader(io.BytesIO(produced.pdf))
    root = reader.trailer["/Root"]

    assert produced.pdf.startswith(b"%PDF-1.7\n%")
    assert "/ID" in reader.trailer
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    (filespec,) = [ref.get_object() for ref in root["/AF"]]
    assert filespec["/AFRelationship"] == "/Data"
    assert filespec["/F"] == filespec["/UF"] == "factur-x.xml"
    stream = filespec["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/text/xml"
    assert "/ModDate" in stream["/Params"]
    assert stream.get_data() == produced.xml
    assert reader.attachments == {"factur-x.xml": [produced.xml]}
    # an independent reader (the factur-x package) finds the same XML, flavor and level
    assert facturx.get_xml_from_pdf(produced.pdf, check_xsd=True) == ("factur-x.xml", produced.xml)
    assert facturx.get_level(etree.fromstring(produced.xml)) == "en16931"

    xmp = etree.fromstring(root["/Metadata"].get_object().get_data())
    assert value(xmp, "//pdfaid:part") == "3"
    assert value(xmp, "//pdfaid:conformance") == "B"
    assert value(xmp, "//fx:DocumentType") == "INVOICE"
    assert value(xmp, "//fx:DocumentFileName") == "factur-x.xml"
    assert value(xmp, "//fx:Version") == "1.0"
    assert value(xmp, "//fx:ConformanceLevel") == "EN 16931"
    assert value(xmp, "//pdfaSchema:namespaceURI") == NS["fx"]
    assert value(xmp, "//pdfaSchema:prefix") == "fx"
    info = reader.metadata
    assert info is not None
    assert info["/Title"] == value(xmp, "//dc:title//rdf:li") == "Rechnung 2026-0042"
    assert info["/Author"] == value(xmp, "//dc:creator//rdf:li") == SELLER.company
    assert info["/Subject"] == value(xmp, "//dc:description//rdf:li")
    assert info["/Keywords"] == value(xmp, "//pdf:Keywords")
    assert info["/Producer"] == value(xmp, "//pdf:Producer")


def test_many_items_span_several_pages() -> None:
    assert len(PdfReader(io.BytesIO(produce("many_items").pdf)).pages) >= 2


def test_reverse_charge_without_buyer_vat_id_fails_br_ae_02() -> None:
    doc = produce("reverse_charge").doc

    errors = check_schematron(build_cii_xml(doc))
    assert [error.split("]")[0] for error in errors] == ["[BR-AE-02"] * len(doc.totals.lines)


def test_checks_report_broken_sums_and_unknown_elements() -> None:
    xml = produce("discount").xml
    gross = produce("discount").doc.totals.gross
    wrong_total = xml.replace(f"<ram:GrandTotalAmount>{gross}".encode(), f"<ram:GrandTotalAmount>{gross + 1}".encode())
    unknown = xml.replace(b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:TypeCode>380</ram:TypeCode><ram:Foo/>")

    assert wrong_total != xml
    assert any(error.startswith("[BR-CO-15]") for error in check_schematron(wrong_total))
    assert check_xsd(wrong_total) == []
    assert check_xsd(unknown) and "Foo" in check_xsd(unknown)[0]
    assert check_xsd(b"<not-xml") != []
    assert check_schematron(b"<not-xml") != []


def test_every_unit_has_a_rec20_code_the_schematron_accepts() -> None:
    doc = produce("regular").doc
    lines = [replace(doc.totals.lines[0], unit=unit.value) for unit in Unit]
    totals = replace(doc.totals, lines=lines, groups=[])
    xml = build_cii_xml(replace(doc, totals=totals))

    assert set(UNIT_CODES) == {unit.value for unit in Unit}
    assert not [error for error in check_schematron(xml) if "unitCode" in error]


def test_embedding_rejects_a_broken_pdf() -> None:
    with pytest.raises(RenderFailed):
        embed_factur_x(b"%PDF-1.7\nnot a pdf", b"<x/>", number="1", issue_date=dt.date(2026, 11, 21),
                       seller_name="S", language="de")
