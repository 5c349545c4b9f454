"""A draft's preview link /e/<token>: a read-only page and PDF marked ENTWURF while the draft is open, gone after."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser
from pypdf import PdfReader
from sqlalchemy import delete, func, select

from documents.preview import render_draft_preview
from extraction.models import Customer, InvoiceFields, Item, ItemKind, Unit
from handlers.logfilter import redact
from services import get_services
from store.content import seal_contents
from store.links import LinkState, create_magic_link, find_link
from store.models import Base, Invoice, InvoiceState, MagicLink, SealedContent, utcnow
from tests.helpers import AddTenant, text_of


def make_fields(priced: bool = True, customer: bool = True) -> InvoiceFields:
    return InvoiceFields(
        customer=Customer(name="Anna Schmidt", street="Lindenstraße 12", postal_code="50667", city="Köln")
        if customer else None,
        job_title="Austausch Waschbecken im Bad",
        items=[Item(description="Arbeitszeit", quantity=Decimal(2), unit=Unit.HOUR, unit_price=Decimal(55),
                    kind=ItemKind.LABOR),
               Item(description="Waschbecken", quantity=Decimal(1), unit=Unit.PIECE,
                    unit_price=Decimal("189.90") if priced else None, kind=ItemKind.MATERIAL)],
    )


def add_draft(app: Flask, tenant_id: int, fields: InvoiceFields | None = None) -> tuple[str, str]:
    """A draft row as the pipeline leaves it: no number, sealed fields and transcript, a preview link."""
    services = get_services(app)
    with services.db.session() as session:
        now = utcnow()
        expires_at = now + dt.timedelta(days=30)
        invoice = Invoice(tenant_id=tenant_id, number=None, state=InvoiceState.DRAFT, created_at=now,
                          shown_at=now, expires_at=expires_at)
        session.add(invoice)
        session.flush()
        seal_contents(session, services.cipher, invoice.id, expires_at, {
            "fields": (fields or make_fields()).model_dump_json().encode(),
            "transcript": b"Zwei Stunden Arbeit und ein Waschbecken bei Anna Schmidt",
        })
        token = create_magic_link(session, invoice.id, now + dt.timedelta(days=7))
        return invoice.id, token


def snapshot(app: Flask) -> dict[str, Any]:
    """Row counts of every table, and the invoices' rows and sealed blobs as they are."""
    with get_services(app).db.session() as session:
        counts = {table.name: session.scalar(select(func.count()).select_from(table))
                  for table in Base.metadata.sorted_tables}
        invoices = [(i.id, i.number, i.state, i.shown_at, i.downloaded_at, i.deleted_at)
                    for i in session.scalars(select(Invoice))]
        blobs = sorted((s.invoice_id, s.category, s.ciphertext) for s in session.scalars(select(SealedContent)))
        links = [(link.id, link.used_at) for link in session.scalars(select(MagicLink))]
    return {"counts": counts, "invoices": invoices, "blobs": blobs, "links": links}


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def set_state(app: Flask, invoice_id: str, state: InvoiceState, number: str | None = None,
              drop_links: bool = False) -> None:
    with get_services(app).db.session() as session:
        invoice = session.get_one(Invoice, invoice_id)
        invoice.state, invoice.number = state, number
        if drop_links:  # issuing deletes the draft's preview links
            session.execute(delete(MagicLink).where(MagicLink.invoice_id == invoice_id))


def test_page_and_pdf_answer_again_and_again_and_change_nothing(app: Flask, client: FlaskClient,
                                                               tenant: int) -> None:
    _, token = add_draft(app, tenant)
    before = snapshot(app)
    for _ in range(2):
        page = client.get(f"/e/{token}")
        assert page.status_code == 200
        html = text_of(page)
        assert "Dies ist ein Entwurf, noch keine Rechnung" in html
        assert f'src="/e/{token}/pdf"' in html and f'href="/e/{token}/pdf"' in html
        assert "in WhatsApp" in html and "Erstellen" in html
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-src 'self'" in page.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]

        pdf = client.get(f"/e/{token}/pdf")
        assert pdf.status_code == 200
        assert pdf.mimetype == "application/pdf"
        assert pdf.headers["Content-Disposition"] == 'inline; filename="Entwurf.pdf"'
        assert pdf.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
        assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert pdf.headers["Cache-Control"] == "no-store"
    assert snapshot(app) == before


def test_preview_pdf_is_marked_draft_without_number_girocode_or_e_invoice(app: Flask, client: FlaskClient,
                                                                         tenant: int) -> None:
    _, token = add_draft(app, tenant)
    pdf = client.get(f"/e/{token}/pdf").data
    text = pdf_text(pdf)
    assert "ENTWURF" in text
    assert "Rechnungsentwurf" in text
    assert "Entwurf – keine gültige Rechnung" in text
    assert "RE-" not in text
    assert text.count("Rechnungsnummer") == 1  # only in "wird erst beim Erstellen vergeben": no number row
    assert "GiroCode" not in text
    assert "Anna Schmidt" in text and "Gesamtbetrag 356,88 €" in text  # 299.90 + 19 % VAT
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.attachments == {}
    assert "/EmbeddedFiles" not in str(reader.trailer["/Root"].get("/Names", {}))
    assert b"pdfaid" not in pdf  # a plain PDF, not PDF/A-3
    assert all("ENTWURF" in (page.extract_text() or "") for page in reader.pages)


def test_english_tenant_gets_draft(app: Flask, client: FlaskClient, add_tenant: AddTenant) -> None:
    tenant_id = add_tenant(language="en")
    _, token = add_draft(app, tenant_id)
    page = client.get(f"/e/{token}")
    assert page.status_code == 200
    assert "This is a draft, not yet an invoice" in text_of(page)
    text = pdf_text(client.get(f"/e/{token}/pdf").data)
    assert "DRAFT" in text and "Draft invoice" in text and "Draft – not a valid invoice" in text
    assert "ENTWURF" not in text and text.count("invoice number") == 1 and "Invoice number" not in text


def test_download_route_never_shows_or_serves_a_draft(app: Flask, client: FlaskClient, tenant: int) -> None:
    _, token = add_draft(app, tenant)
    before = snapshot(app)
    assert client.get(f"/d/{token}").status_code == 404
    assert client.post(f"/d/{token}").status_code == 404
    assert client.post(f"/d/{token}/xml").status_code == 404
    assert snapshot(app) == before
    assert client.get(f"/e/{token}").status_code == 200  # the preview still works


def test_issued_draft_is_gone_on_both_routes(app: Flask, client: FlaskClient, tenant: int) -> None:
    invoice_id, token = add_draft(app, tenant)
    assert client.get(f"/e/{token}").status_code == 200
    set_state(app, invoice_id, InvoiceState.ISSUED, "RE-2026-0001")
    for path in (f"/e/{token}", f"/e/{token}/pdf"):
        gone = client.get(path)
        assert gone.status_code == 410
        assert "bereits als Rechnung erstellt oder verworfen" in " ".join(text_of(gone).split())
    set_state(app, invoice_id, InvoiceState.ISSUED, "RE-2026-0001", drop_links=True)  # as issuing does
    assert client.get(f"/e/{token}").status_code == 404
    assert client.get(f"/d/{token}").status_code == 404


def test_discarded_draft_is_gone(app: Flask, client: FlaskClient, tenant: int) -> None:
    invoice_id, token = add_draft(app, tenant)
    set_state(app, invoice_id, InvoiceState.DELETED)
    assert client.get(f"/e/{token}").status_code == 410
    assert client.get(f"/e/{token}/pdf").status_code == 410
    assert client.get(f"/d/{token}").status_code == 404
    assert client.get("/e/not-a-token").status_code == 404


@pytest.mark.parametrize("fields", [make_fields(priced=False), make_fields(customer=False),
                                    InvoiceFields(customer=None, items=[])], ids=["unpriced", "no-customer", "empty"])
def test_incomplete_draft_asks_to_answer_in_whatsapp(app: Flask, client: FlaskClient, tenant: int,
                                                     fields: InvoiceFields) -> None:
    _, token = add_draft(app, tenant, fields)
    before = snapshot(app)
    for path in (f"/e/{token}", f"/e/{token}/pdf"):
        response = client.get(path)
        assert response.status_code == 409
        assert response.mimetype == "text/html"
        assert "beantworten Sie die Frage des Bots in WhatsApp" in " ".join(text_of(response).split())
    assert snapshot(app) == before


def test_render_draft_preview_and_find_link(app: Flask, tenant: int) -> None:
    invoice_id, token = add_draft(app, tenant)
    unpriced_id, _ = add_draft(app, tenant, make_fields(priced=False))
    services = get_services(app)
    with services.db.session() as session:
        pdf = render_draft_preview(session, services.cipher, invoice_id, dt.date(2026, 11, 21))
        assert pdf is not None and "21.11.2026" in pdf_text(pdf)
        assert render_draft_preview(session, services.cipher, unpriced_id, dt.date(2026, 11, 21)) is None
        assert find_link(session, token, draft=True)[0] is LinkState.VALID
        assert find_link(session, token)[0] is LinkState.UNKNOWN
    set_state(app, invoice_id, InvoiceState.ISSUED, "RE-2026-0001")
    with services.db.session() as session:
        assert find_link(session, token)[0] is LinkState.VALID  # an issued invoice's link downloads as before
        assert find_link(session, token, draft=True)[0] is LinkState.EXPIRED


def test_preview_tokens_are_redacted_in_access_logs() -> None:
    assert redact('"GET /e/abcDEF_12-3/pdf HTTP/1.1" 200') == '"GET /e/[redacted]/pdf HTTP/1.1" 200'


def test_chromium_frames_the_preview_pdf_without_a_csp_refusal(app: Flask, live_url: str, tenant: int,
                                                               browser: Browser) -> None:
    _, token = add_draft(app, tenant)
    page = browser.new_page(locale="de-DE")
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    with page.expect_response(f"{live_url}/e/{token}/pdf") as framed:
        page.goto(f"{live_url}/e/{token}")
    assert framed.value.status == 200
    assert framed.value.headers["content-type"] == "application/pdf"
    assert page.frame_locator("iframe").owner.get_attribute("src") == f"/e/{token}/pdf"
    assert page.get_by_role("link", name="Entwurf als PDF öffnen").get_attribute("href") == f"/e/{token}/pdf"
    assert not [m for m in messages if "Refused" in m or "Content Security Policy" in m], messages
    page.close()
