"""What the STORNO tests share: the sample case, a public-sector customer, reading the chat, the numbered invoices,
the download, and the checks of a Stornorechnung and of the corrected invoice that follows it."""
from __future__ import annotations

import io
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from pypdf import PdfReader
from sqlalchemy import select

from documents.pdf.formatting import format_day_in
from services import get_services
from store.models import Invoice, InvoiceState
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import INVOICE_LINK, TENANT_PHONE, Press, button_messages, load_cases, read_page_texts
from tests.schematron import check_official

CASE = next(c for c in load_cases() if c["id"] == "waschbecken")
LEITWEG_ID = "04011000-1234512345-06"
TOWN_HALL = {"name": "Stadt Köln, Gebäudewirtschaft", "company": "Stadt Köln", "street": "Willy-Brandt-Platz 2",
             "postal_code": "50679", "city": "Köln", "is_business": True, "leitweg_id": LEITWEG_ID}
NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"}
OTHER_PHONE = "+4915199998888"


def texts(whatsapp_fake: FakeWhatsApp, phone: str = TENANT_PHONE) -> list[str]:
    return whatsapp_fake.texts_to(phone.lstrip("+"))


def invoices(app: Flask, tenant_id: int | None = None) -> dict[str, Invoice]:
    """The numbered invoices by number (of one tenant when given)."""
    with get_services(app).db.session() as session:
        query = select(Invoice).where(Invoice.number.is_not(None))
        if tenant_id is not None:
            query = query.where(Invoice.tenant_id == tenant_id)
        return {row.number or "": row for row in session.scalars(query)}


def only_number(app: Flask, tenant_id: int) -> str:
    [number] = invoices(app, tenant_id)
    return number


def download(client: FlaskClient, reply: str, category: str = "") -> bytes:
    match = INVOICE_LINK.search(reply)
    assert match, reply
    response = client.post(match.group(1) + category)
    assert response.status_code == 200
    return response.data


def values(xml: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=NS)]


def check_cancellation_pdf(pdf: bytes, number: str, cancelled: str, cancelled_on: str, gross: str) -> bytes:
    """The Stornorechnung's PDF names itself and the original (number, date) and shows the gross reversed; its
    embedded XML is a credit note referring to the original that the official CEN rules accept. Returns the XML."""
    text = " ".join(read_page_texts(pdf))
    assert f"Stornorechnung {number}" in text and "Gutschrift" not in text
    assert f"Storno zur Rechnung {cancelled} vom {cancelled_on}" in text
    assert f"Gesamtbetrag -{gross} €" in text.replace("\xa0", " "), text
    [xml] = PdfReader(io.BytesIO(pdf)).attachments["factur-x.xml"]
    assert values(xml, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert values(xml, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID/text()") == [number]
    assert values(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == [cancelled]
    day, month, year = cancelled_on.split(".")
    assert values(xml, "//ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/qdt:DateTimeString/text()") == [
        f"{year}{month}{day}"]
    assert check_official(xml) == []
    return xml


def check_storno_and_correction(app: Flask, client: FlaskClient, whatsapp_fake: FakeWhatsApp, press: Press,
                                run_worker: Callable[[], None], original: str, drafts_before: int) -> tuple[str, str]:
    """The Stornorechnung just announced names the original (number, date, customer) with the gross reversed and
    passes the checks of check_cancellation_pdf; the corrected draft offered in the same turn is issued with the next
    number, gapless. Returns the numbers of the Stornorechnung and of the corrected invoice."""
    issued_on = format_day_in(invoices(app)[original].issued_at.date(), "de_DE")  # type: ignore[union-attr]
    ready = texts(whatsapp_fake)[-1]
    cancellation = original[:-4] + "0002"
    assert f"Stornorechnung {cancellation} zur Rechnung {original} vom {issued_on} (Thomas Müller" in ready
    assert "-378,42" in ready.replace("\xa0", " ") and "Gutschrift" not in ready
    [draft] = button_messages(whatsapp_fake)[drafts_before:]  # the corrected invoice, offered in the same turn
    assert draft.titles == ["Erstellen", "Ändern", "Verwerfen"] and "Thomas Müller" in draft.text
    assert "378,42" in draft.text
    rows = invoices(app)
    assert rows[original].state is InvoiceState.CANCELLED and rows[cancellation].cancels_id == rows[original].id
    check_cancellation_pdf(download(client, ready), cancellation, original, issued_on, "378,42")

    press("Erstellen", draft)
    run_worker()
    corrected = original[:-4] + "0003"
    assert corrected in texts(whatsapp_fake)[-1]
    rows = invoices(app)
    assert sorted(rows) == [original, cancellation, corrected]  # gapless across all three
    assert rows[original].state is InvoiceState.CANCELLED  # and stays so
    assert rows[corrected].state is InvoiceState.ISSUED
    return cancellation, corrected
