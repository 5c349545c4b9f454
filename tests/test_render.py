"""Invoice rendering: the PDF text carries the §14 UStG fields, the amounts and the legal notes."""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

import documents.pdf.render as render
from documents import RenderFailed
from documents.amounts import TaxMode, compute_totals
from documents.invoice import InvoiceDocument, Seller
from documents.pdf.girocode import make_epc_payload, make_girocode
from documents.pdf.render import render_invoice_html, render_invoice_pdf
from extraction.models import InvoiceFields
from tests.helpers import load_cases

CASES: dict[str, dict[str, Any]] = {case["id"]: case for case in load_cases()}
PRICED = [case_id for case_id, case in CASES.items() if case.get("expected")]


@pytest.fixture
def seller() -> Seller:
    return Seller(company="Sanitär Weber GmbH", street="Werkstattweg 5", postal_code="50823", city="Köln",
                  country="DE", tax_number="217/5730/0815", vat_id=None, iban="DE89370400440532013000",
                  bic="COBADEFFXXX", email="info@weber-sanitaer.de", phone="0221 123456")


def render_girocode_svg(name: str, iban: str, amount: Decimal, text: str, bic: str | None = None) -> str | None:
    """The GiroCode as an inline <svg> element (sized by CSS; slower in WeasyPrint than the PNG); None if none."""
    qr = make_girocode(name, iban, amount, text, bic)
    if qr is None:
        return None
    svg: str = qr.svg_inline(scale=1, border=4, omitsize=True, svgclass="girocode", lineclass=None,
                             dark="#000", light="#fff")
    return svg


def build_document(seller: Seller, case_id: str, language: str = "de",
                   tax_mode: TaxMode = TaxMode.STANDARD) -> InvoiceDocument:
    fields = InvoiceFields.model_validate(CASES[case_id]["fields"])
    assert fields.customer is not None
    return InvoiceDocument(number="2026-0042", issue_date=dt.date(2026, 11, 21), service_date=fields.service_date,
                           due_date=dt.date(2026, 12, 5), language=language, seller=seller, customer=fields.customer,
                           job_title=fields.job_title, notes=fields.notes,
                           totals=compute_totals(fields, Decimal(19), tax_mode))


def extract_text(pdf: bytes) -> str:
    """The PDF's text with every whitespace run (line breaks, no-break spaces) collapsed to one space."""
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


def german_money(amount: str) -> str:
    """'1234.5' -> '1.234,50 €'."""
    return f"{Decimal(amount):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".") + " €"


@pytest.mark.parametrize("case_id", PRICED)
def test_pdf_shows_number_customer_and_amounts(seller: Seller, case_id: str) -> None:
    expected = CASES[case_id]["expected"]
    doc = build_document(seller, case_id)
    text = extract_text(render_invoice_pdf(doc))

    assert "Rechnungsnummer 2026-0042" in text
    assert doc.customer.name in text
    assert f"{doc.customer.postal_code} {doc.customer.city}" in text
    assert "Steuernummer: 217/5730/0815" in text
    assert "DE89 3704 0044 0532 0130 00" in text
    assert f"Nettobetrag {german_money(expected['net'])}" in text
    assert f"USt. 19 % {german_money(expected['vat'])}" in text
    assert f"Gesamtbetrag {german_money(expected['gross'])}" in text
    for line_net in expected["line_net"]:
        assert german_money(line_net) in text
    if expected["discount"] != "0.00":
        assert f"Rabatt {doc.totals.discount_percent:g} % −{german_money(expected['discount'])}" in text
    if doc.service_date is None:
        assert "Leistungsdatum entspricht Rechnungsdatum" in text
    else:
        assert f"Leistungsdatum {doc.service_date:%d.%m.%Y}" in text


@pytest.mark.parametrize("case_id", PRICED)
def test_private_customers_get_labour_share_and_retention_notice(seller: Seller, case_id: str) -> None:
    expected = CASES[case_id]["expected"]
    doc = build_document(seller, case_id)
    text = extract_text(render_invoice_pdf(doc))

    labour = (f"Arbeits- und Fahrtkosten (§ 35a EStG): {german_money(expected['labour_net'])} netto, "
              f"{german_money(expected['labour_gross'])} brutto")
    if doc.customer.is_business:
        assert "§ 35a EStG" not in text
        assert "zwei Jahre lang aufzubewahren" not in text
    else:
        assert labour in text
        assert "Bitte zahlen Sie per Überweisung" in text
        assert "Sie sind gesetzlich verpflichtet, diese Rechnung" in text
        assert "zwei Jahre lang aufzubewahren" in text


def test_english_invoice_uses_english_labels_and_formats(seller: Seller) -> None:
    text = extract_text(render_invoice_pdf(build_document(seller, "english", language="en")))

    assert "Invoice number 2026-0042" in text
    assert "Invoice date 21 Nov 2026" in text
    assert "Date of service equals invoice date" in text
    assert "Net amount €124.00" in text
    assert "VAT 19% €23.56" in text
    assert "Total amount €147.56" in text
    assert "1.5 hrs" in text
    assert "(§ 35a EStG): €90.00 net, €107.10 gross" in text
    assert "Rechnungsnummer" not in text
    assert "Gesamtbetrag" not in text


def test_small_business_invoice_has_no_vat(seller: Seller) -> None:
    text = extract_text(render_invoice_pdf(build_document(seller, "waschbecken", tax_mode=TaxMode.SMALL_BUSINESS)))

    assert "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet." in text
    assert "USt." not in text
    assert "Gesamtbetrag 318,00 €" in text
    assert "174,00 € netto, 174,00 € brutto" in text


def test_reverse_charge_invoice_names_the_recipient_as_tax_debtor(seller: Seller) -> None:
    text = extract_text(render_invoice_pdf(build_document(seller, "steckdosen", tax_mode=TaxMode.REVERSE_CHARGE)))

    assert "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG)" in text
    assert "USt. 19 %" not in text
    assert "Nettobetrag 180,50 €" in text
    assert "Gesamtbetrag 180,50 €" in text


def test_untrusted_text_is_escaped(seller: Seller) -> None:
    doc = build_document(seller, "waschbecken")
    customer = doc.customer.model_copy(update={"name": "<b>Mallory</b>"})
    html = render_invoice_html(replace(doc, customer=customer, notes="<script>x</script>"))

    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in html


def test_missing_stylesheet_raises_render_failed(seller: Seller, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    doc = build_document(seller, "waschbecken")
    render_invoice_html(doc)  # builds the cached environment from the real templates first
    monkeypatch.setattr(render, "TEMPLATES", tmp_path)  # invoice.css is not there

    with pytest.raises(RenderFailed) as info:
        render_invoice_pdf(doc)
    assert info.value.__cause__ is not None


def with_zero_rate(doc: InvoiceDocument, fields: InvoiceFields) -> InvoiceDocument:
    """The document with its first item at 0 % VAT (photovoltaics)."""
    items = [fields.items[0].model_copy(update={"vat_rate": Decimal(0)}), *fields.items[1:]]
    zero = fields.model_copy(update={"items": items})
    return replace(doc, totals=compute_totals(zero, Decimal(19), doc.totals.tax_mode))


@pytest.mark.parametrize("language, note", [
    ("de", "Nullsteuersatz gemäß § 12 Abs. 3 UStG (Lieferung und Installation von Photovoltaikanlagen)"),
    ("en", "zero rate under § 12 (3) UStG (supply and installation of photovoltaic systems)")])
def test_zero_rate_items_get_the_photovoltaics_note(seller: Seller, language: str, note: str) -> None:
    fields = InvoiceFields.model_validate(CASES["waschbecken"]["fields"])
    doc = with_zero_rate(build_document(seller, "waschbecken", language), fields)
    text = extract_text(render_invoice_pdf(doc))

    assert note in text
    assert note not in extract_text(render_invoice_pdf(build_document(seller, "waschbecken", language)))
    small = with_zero_rate(build_document(seller, "waschbecken", language, TaxMode.SMALL_BUSINESS), fields)
    assert "12 Abs. 3" not in render_invoice_html(small)


def test_pdf_is_pdfa_3b_with_metadata_and_embedded_fonts(seller: Seller) -> None:
    reader = PdfReader(io.BytesIO(render_invoice_pdf(build_document(seller, "waschbecken"))))
    xmp = reader.xmp_metadata
    assert xmp is not None
    packet = xmp.stream.get_data().decode()
    resources: Any = reader.pages[0]["/Resources"]
    fonts = [font.get_object() for font in resources["/Font"].values()]
    catalog: Any = reader.trailer["/Root"]

    assert 'pdfaid:part="3"' in packet and 'pdfaid:conformance="B"' in packet
    assert catalog["/Lang"] == "de" and "/OutputIntents" in catalog
    assert reader.metadata is not None
    assert reader.metadata.title == "Rechnung 2026-0042"
    assert reader.metadata.author == "Sanitär Weber GmbH"
    assert fonts and all("/FontFile2" in f["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in fonts)


def test_girocode_caption_in_both_languages_and_none_without_an_amount(seller: Seller) -> None:
    assert "GiroCode scannen" in extract_text(render_invoice_pdf(build_document(seller, "waschbecken")))
    assert "scan the GiroCode" in extract_text(render_invoice_pdf(build_document(seller, "english", "en")))
    fields = InvoiceFields.model_validate(CASES["waschbecken"]["fields"])
    free = fields.model_copy(update={"items": [i.model_copy(update={"unit_price": Decimal(0)}) for i in fields.items]})
    huge = fields.model_copy(update={"items": [fields.items[0].model_copy(
        update={"unit_price": Decimal(100000), "quantity": Decimal(10000)})]})

    for nothing_to_scan in (free, huge):
        doc = replace(build_document(seller, "waschbecken"), totals=compute_totals(nothing_to_scan, Decimal(19)))
        html = render_invoice_html(doc)
        assert "GiroCode" not in html and "girocode" not in html


def test_epc_payload_limits() -> None:
    payload = make_epc_payload("Sanitär Weber GmbH\n", "DE89 3704 0044 0532 0130 00", Decimal("10.50"),
                               "Rechnung 2026-0042", None)
    assert payload == "BCD\n002\n1\nSCT\n\nSanitär Weber GmbH\nDE89370400440532013000\nEUR10.5\n\n\nRechnung 2026-0042"
    assert make_epc_payload("A", "DE89370400440532013000", Decimal("999999999.99"), "x") is not None
    assert make_epc_payload("A", "DE89370400440532013000", Decimal("1000000000.00"), "x") is None
    assert make_epc_payload("A", "DE89370400440532013000", Decimal("0"), "x") is None
    assert make_epc_payload(" ", "DE89370400440532013000", Decimal("1"), "x") is None


def test_logo_that_is_not_png_or_jpeg_is_left_out(seller: Seller) -> None:
    doc = build_document(replace(seller, logo=b"GIF89a\x01\x00", logo_mime="image/png"), "waschbecken")
    assert 'class="logo"' not in render_invoice_html(doc)
    logo = replace(seller, logo=b"\x89PNG\r\n\x1a\nrest", logo_mime=None)
    assert '<div class="logo"><img src="data:image/png;base64,iVBORw0KGgpyZXN0"' in render_invoice_html(
        build_document(logo, "waschbecken"))


def test_girocode_svg_is_an_inline_element_or_nothing() -> None:
    svg = render_girocode_svg("Sanitär Weber GmbH", "DE89370400440532013000", Decimal("1"), "Rechnung 1", "COBADEFFXXX")
    assert svg is not None and svg.startswith("<svg") and 'class="girocode"' in svg and "Sanit" not in svg
    assert render_girocode_svg("Sanitär Weber GmbH", "DE89370400440532013000", Decimal("0"), "Rechnung 1") is None


def test_a_net_price_from_a_gross_one_is_printed_as_precisely_as_the_e_invoice_states_it(seller: Seller) -> None:
    fields = InvoiceFields.model_validate({
        "customer": {"name": "Thomas Müller", "street": "Lindenstraße 12", "postal_code": "50674", "city": "Köln"},
        "items": [{"description": "Wandfarbe", "quantity": "7", "unit": "l", "unit_price": "25.50", "kind": "material"},
                  {"description": "Arbeitszeit", "quantity": "2", "unit": "h", "unit_price": "59.50",
                   "kind": "labor"}],
        "prices_include_vat": True})
    assert fields.customer is not None
    totals = compute_totals(fields, Decimal(19))
    doc = InvoiceDocument(number="2026-0043", issue_date=dt.date(2026, 11, 21), service_date=None,
                          due_date=dt.date(2026, 12, 5), language="de", seller=seller, customer=fields.customer,
                          job_title=None, notes=None, totals=totals)
    text = extract_text(render_invoice_pdf(doc))
    paint, labour = totals.lines
    assert paint.unit_price != paint.unit_price.quantize(Decimal("0.01"))  # 25.50 / 1.19 has more than cents
    assert f"{paint.unit_price:f}".replace(".", ",") + " €" in text  # e.g. 21,4286 €, not a rounded 21,43 €
    assert "50,00 €" in text and labour.unit_price == Decimal("50")  # whole cents stay two decimals
    assert german_money(str(totals.gross)) in text and totals.gross == Decimal("297.50")  # 7 × 25.50 + 2 × 59.50
