"""The e-invoice on the main path: the downloaded PDF is Factur-X, the XML is a second download, §13b asks."""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import select

from accounts.account import save_logo
from documents.einvoice.check import check_xsd
from services import get_services
from store.models import Invoice, InvoiceState, SealedContent
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    INVOICE_LINK,
    TENANT_PHONE,
    IssueByVoice,
    Press,
    SendReply,
    SendVoiceNote,
    button_messages,
    load_cases,
)
from tests.schematron import check_schematron

CASE = next(c for c in load_cases() if c["id"] == "waschbecken")
NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00"
       b"\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


def invoice_link(whatsapp_fake: FakeWhatsApp) -> str:
    match = INVOICE_LINK.search(whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1])
    assert match, whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]
    return match.group(1)


def grand_total(xml: bytes) -> str:
    return str(etree.fromstring(xml).xpath("//ram:GrandTotalAmount/text()", namespaces=NS)[0])


def test_downloaded_pdf_carries_a_valid_en16931_xml_with_the_logo_on_the_page(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp) -> None:
    with get_services(app).db.session() as session:
        save_logo(session, tenant, PNG)  # stored as the account page stores it: normalised to a JPEG
    issue_by_voice(CASE)
    with get_services(app).db.session() as session:
        assert {b.category for b in session.scalars(select(SealedContent))} == {"transcript", "fields", "pdf", "xml"}
    response = client.post(invoice_link(whatsapp_fake))
    reader = PdfReader(io.BytesIO(response.data))
    [xml] = reader.attachments["factur-x.xml"]
    assert grand_total(xml) == CASE["expected"]["gross"]
    assert check_xsd(xml) == [] and check_schematron(xml) == []
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b"pdfaid:part" in xmp and b"factur-x.xml" in xmp
    assert len(reader.pages[0].images) >= 2  # the logo and the GiroCode


def test_the_xml_alone_is_a_second_download_and_also_ends_the_content(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(CASE)
    path = invoice_link(whatsapp_fake)
    assert f'action="{path}/xml"' in client.get(path).get_data(as_text=True)
    response = client.post(f"{path}/xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert grand_total(response.data) == CASE["expected"]["gross"] and check_xsd(response.data) == []
    assert client.post(path).status_code == 410
    with get_services(app).db.session() as session:
        assert session.scalars(select(SealedContent)).all() == []


def test_reverse_charge_asks_for_the_customers_vat_id_and_then_names_it(
        app: Flask, client: FlaskClient, tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply,
        press: Press, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp,
        anthropic_fake: FakeAnthropic) -> None:
    business = {**CASE["fields"]["customer"], "is_business": True, "company": "Bau GmbH", "name": "Bau GmbH"}
    fields: dict[str, Any] = {**CASE["fields"], "customer": business, "reverse_charge": True}
    send_voice_note({**CASE, "fields": fields})
    run_worker()
    [question] = button_messages(whatsapp_fake)
    assert "USt-IdNr. von Bau GmbH" in question.text
    assert question.titles == ["Verwerfen"]  # nothing to create before the answer
    with get_services(app).db.session() as session:  # an open draft, no invoice number taken
        assert [(i.state, i.number) for i in session.scalars(select(Invoice))] == [(InvoiceState.DRAFT, None)]

    answer = "Die USt-IdNr. ist DE123456789"
    answered = {**fields, "customer": {**business, "vat_id": "DE123456789"}, "intent": "correction"}
    anthropic_fake.add_reply(answer, answered)
    send_reply(answer)
    run_worker()
    draft = button_messages(whatsapp_fake)[-1]
    assert "DE123456789" in draft.text
    assert draft.titles == ["Erstellen", "Ändern", "Verwerfen"]
    assert whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+")) == []  # still no invoice

    press("Erstellen")
    run_worker()
    reader = PdfReader(io.BytesIO(client.post(invoice_link(whatsapp_fake)).data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Steuerschuldnerschaft des Leistungsempfängers" in text and "DE123456789" in text
    [xml] = reader.attachments["factur-x.xml"]
    assert check_schematron(xml) == []
    assert etree.fromstring(xml).xpath("//ram:BuyerTradeParty//ram:ID[@schemeID='VA']/text()", namespaces=NS) \
        == ["DE123456789"]
