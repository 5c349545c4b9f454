"""STORNO after the content is gone: the invoice's PDF comes back in the chat (a document with the caption "Storno",
or a document and then STORNO). Its embedded XML must be exactly what this tenant was issued; the Stornorechnung and
the corrected draft are built from it. Anything else is refused and changes nothing. On real processes: webhook ->
RQ worker -> fakes."""
from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from itertools import product
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select

from documents.amounts import TaxMode, compute_totals, fill_prices
from documents.einvoice.cii import build_cii_xml
from documents.einvoice.reading import read_fields
from extraction.models import InvoiceFields
from services import get_services
from store.models import InboundMessage, InvoiceState, MessageKind, Tenant
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    PostWebhook,
    Press,
    SendReply,
    button_messages,
    document_body,
    load_cases,
    make_document,
)
from tests.storno import (
    CASE,
    OTHER_PHONE,
    TOWN_HALL,
    check_storno_and_correction,
    download,
    invoices,
    only_number,
    texts,
)
from workers.retention import purge_content


def send_document(post_webhook: PostWebhook, whatsapp_fake: FakeWhatsApp, data: bytes, caption: str | None,
                  mime_type: str = "application/pdf", filename: str = "Rechnung.pdf") -> None:
    media_id = f"media-{uuid.uuid4().hex[:8]}"
    whatsapp_fake.add_media(media_id, data, mime_type)
    body = document_body(TENANT_PHONE, f"wamid.{uuid.uuid4().hex}", media_id, mime_type, filename, caption)
    assert post_webhook(body).status_code == 200


def with_xml(pdf: bytes, change: Callable[[bytes], bytes] | None) -> bytes:
    """The PDF's pages with its e-invoice XML changed by `change`, or without any XML when `change` is None."""
    reader = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    if change is not None:
        [xml] = reader.attachments["factur-x.xml"]
        writer.add_attachment("factur-x.xml", change(xml))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_returned_pdf_cancels_the_deleted_invoice_then_the_corrected_one_is_issued(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, post_webhook: PostWebhook,
        send_reply: SendReply, press: Press, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(CASE)
    original = only_number(app, tenant)
    pdf = download(client, texts(whatsapp_fake)[-1])
    assert invoices(app)[original].state is InvoiceState.DELETED  # the download deleted the content
    drafts_before = len(button_messages(whatsapp_fake))

    send_document(post_webhook, whatsapp_fake, pdf, caption=None)  # no caption: the bot says what documents are for
    run_worker()
    assert "Dokumente brauche ich nur zum Stornieren" in texts(whatsapp_fake)[-1]
    send_reply("STORNO")  # right after the document
    run_worker()
    # the Stornorechnung and the corrected draft are built from the returned XML: customer, items, amounts
    check_storno_and_correction(app, client, whatsapp_fake, press, run_worker, original, drafts_before)

    send_document(post_webhook, whatsapp_fake, pdf, caption="Storno")  # the same PDF again: cancelled already
    run_worker()
    assert f"Die Rechnung {original} ist schon storniert" in texts(whatsapp_fake)[-1]
    with get_services(app).db.session() as session:
        assert session.get_one(Tenant, tenant).invoice_counter == 3
        messages = session.scalars(select(InboundMessage).where(InboundMessage.tenant_id == tenant)).all()
    assert all(m.media_id is None and m.body_sealed is None for m in messages)  # nothing of the documents kept
    assert [m.kind for m in messages].count(MessageKind.DOCUMENT) == 2


def document_rows(app: Flask, tenant: int) -> list[InboundMessage]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(InboundMessage).where(
            InboundMessage.tenant_id == tenant, InboundMessage.kind == MessageKind.DOCUMENT)
            .order_by(InboundMessage.id)))


def test_a_document_waits_ten_minutes_for_storno_and_is_then_forgotten(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, post_webhook: PostWebhook,
        send_reply: SendReply, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(CASE)
    original = only_number(app, tenant)
    pdf = download(client, texts(whatsapp_fake)[-1])
    send_document(post_webhook, whatsapp_fake, pdf, caption=None)
    run_worker()
    [held] = document_rows(app, tenant)
    assert held.media_id is not None  # Meta's media id (no content) waits for a STORNO
    downloads = len(whatsapp_fake.media_downloads)
    with get_services(app).db.session() as session:  # eleven minutes pass before the tradesperson writes STORNO
        session.get_one(InboundMessage, held.id).received_at = held.received_at - dt.timedelta(minutes=11)
        session.commit()
    send_reply("STORNO")
    run_worker()
    assert "Welche Rechnung soll ich stornieren? Schreib STORNO und die Rechnungsnummer" in texts(whatsapp_fake)[-1]
    assert invoices(app)[original].state is InvoiceState.DELETED  # nothing cancelled

    send_document(post_webhook, whatsapp_fake, pdf, caption=None)  # sent again: the sweep keeps it ten minutes
    run_worker()
    services = get_services(app)
    fresh = document_rows(app, tenant)[-1]
    purge_content(services, now=fresh.received_at + dt.timedelta(minutes=9))
    assert [row.media_id is None for row in document_rows(app, tenant)] == [True, False]  # the late one forgotten
    purge_content(services, now=fresh.received_at + dt.timedelta(minutes=11))
    assert [row.media_id for row in document_rows(app, tenant)] == [None, None]
    send_reply("STORNO")
    run_worker()
    assert "Welche Rechnung soll ich stornieren?" in texts(whatsapp_fake)[-1]
    assert {row.state for row in invoices(app).values()} == {InvoiceState.DELETED}
    assert len(whatsapp_fake.media_downloads) == downloads  # neither PDF was fetched for a late STORNO


def test_a_pdf_that_is_not_exactly_an_invoice_of_this_tenant_is_refused_and_nothing_changes(
        app: Flask, client: FlaskClient, add_tenant: AddTenant, issue_by_voice: IssueByVoice,
        post_webhook: PostWebhook, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    mine = add_tenant()
    theirs = add_tenant(phone=OTHER_PHONE, company="Sanitär Weber GmbH")
    issue_by_voice(CASE)
    own = download(client, texts(whatsapp_fake)[-1])
    issue_by_voice(CASE, phone=OTHER_PHONE)
    foreign = download(client, texts(whatsapp_fake, OTHER_PHONE)[-1])
    number = only_number(app, mine)
    assert only_number(app, theirs) == number  # the same number at both tenants

    altered = with_xml(own, lambda xml: xml.replace(b"378.42</ram:GrandTotalAmount>", b"37.84</ram:GrandTotalAmount>"))
    refusals = [(foreign, "application/pdf", "Diese Rechnung ist nicht von dir"),
                (altered, "application/pdf", f"Diese PDF stimmt nicht mit der Rechnung {number} überein"),
                (with_xml(own, lambda xml: xml.replace(f"<ram:ID>{number}<".encode(), b"<ram:ID>RE-2099-0999<")),
                 "application/pdf", "Die Rechnung RE-2099-0999 aus dieser PDF finde ich bei dir nicht"),
                (with_xml(own, None), "application/pdf", "In dieser PDF steckt keine E-Rechnung"),
                (b"Rechnung RE-2026-0001: 378,42 EUR\n", "text/plain", "Das Dokument ist keine PDF-Datei")]
    for data, mime_type, answer in refusals:
        send_document(post_webhook, whatsapp_fake, data, caption="Storno", mime_type=mime_type)
        run_worker()
        assert answer in texts(whatsapp_fake)[-1]
    assert {row.state for row in invoices(app).values()} == {InvoiceState.DELETED}
    with get_services(app).db.session() as session:
        assert [session.get_one(Tenant, t).invoice_counter for t in (mine, theirs)] == [1, 1]
    assert [t for t in texts(whatsapp_fake, OTHER_PHONE) if "storn" in t.lower()] == []


def test_the_xml_read_back_gives_every_sample_invoice_its_amounts_labour_share_and_customer() -> None:
    """What a Stornorechnung from a returned PDF is built from: each sample invoice's XML read back computes the same
    gross and §35a labour share, for the same customer (prices with or without VAT, discount, §13b, §19, a public-sector
    customer with a Leitweg-ID)."""
    variants: list[dict[str, Any]] = [{}, {"discount_percent": 5}, {"prices_include_vat": True, "discount_percent": 3},
                                      {"reverse_charge": True}, {"customer": TOWN_HALL}]
    for case, variant, mode in product([c for c in load_cases() if c["fields"]["items"]], variants,
                                       (TaxMode.STANDARD, TaxMode.SMALL_BUSINESS)):
        raw = {**case["fields"], **variant}
        if variant.get("reverse_charge"):
            raw["customer"] = {**raw["customer"], "vat_id": "ATU12345678", "is_business": True}
        filled = fill_prices(InvoiceFields.model_validate(raw), Decimal("47.50"))
        if filled.missing:  # asked in the chat before an invoice is made
            continue
        fields = filled.fields
        totals = compute_totals(fields, Decimal(19), mode)
        xml = build_cii_xml(replace(make_document(), customer=fields.customer, totals=totals))
        back, gross = read_fields(xml)
        again = compute_totals(back, Decimal(7), mode)  # the rates come from the XML, not the profile
        assert (again.gross, again.labour_net, back.customer) == (totals.gross, totals.labour_net, fields.customer)
        assert [item.kind for item in back.items] == [item.kind for item in fields.items]  # "Leistungsart", BG-32
        assert gross == totals.gross
