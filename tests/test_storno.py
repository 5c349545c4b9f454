"""STORNO: a typed or spoken cancellation gives a Stornorechnung (own number, names the original, amounts reversed,
an EN 16931 credit note that the official CEN and KoSIT rules accept) and the corrected invoice as a draft; bad input
changes nothing. On real processes: webhook -> RQ worker -> fakes."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from documents.pdf.formatting import format_day_in
from services import get_services
from store.models import InboundMessage, InvoiceState, Outcome, Tenant
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    INVOICE_LINK,
    SAMPLES,
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    PostWebhook,
    Press,
    SendReply,
    button_messages,
    load_cases,
    read_page_texts,
    voice_body,
)
from tests.schematron import check_official
from tests.storno import (
    CASE,
    LEITWEG_ID,
    OTHER_PHONE,
    TOWN_HALL,
    check_cancellation_pdf,
    check_storno_and_correction,
    download,
    invoices,
    only_number,
    texts,
    values,
)


def send_spoken(post_webhook: PostWebhook, whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI, words: str,
                audio_file: str = "maler.ogg") -> None:
    """A voice note whose transcript is `words` (no extraction reply needed: a STORNO never reaches the model)."""
    audio = (SAMPLES / audio_file).read_bytes()
    media_id = f"media-{uuid.uuid4().hex[:8]}"
    whatsapp_fake.add_media(media_id, audio, "audio/ogg; codecs=opus")
    openai_fake.add_transcript(audio, words)
    assert post_webhook(voice_body(TENANT_PHONE, f"wamid.{uuid.uuid4().hex}", media_id)).status_code == 200


def test_storno_by_text_then_the_corrected_invoice_numbers_gapless_and_only_once(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, send_reply: SendReply,
        press: Press, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(CASE)
    original = only_number(app, tenant)
    assert original.endswith("-0001")
    drafts_before = len(button_messages(whatsapp_fake))

    send_reply(f"storno rechnung {original.lower()}")
    run_worker()
    cancellation, corrected = check_storno_and_correction(app, client, whatsapp_fake, press, run_worker, original,
                                                          drafts_before)
    assert invoices(app)[corrected].xml_sha256

    sent = len(texts(whatsapp_fake))
    send_reply(f"STORNO {original}")  # a second time: refused, nothing changes
    run_worker()
    assert "schon storniert" in texts(whatsapp_fake)[-1] and len(texts(whatsapp_fake)) == sent + 1
    send_reply(f"Storno {cancellation}")  # a Stornorechnung is not cancelled itself
    run_worker()
    assert "ist eine Stornorechnung" in texts(whatsapp_fake)[-1]
    assert sorted(invoices(app)) == [original, cancellation, corrected]
    with get_services(app).db.session() as session:
        assert session.get_one(Tenant, tenant).invoice_counter == 3


def test_storno_by_voice_of_an_xrechnung_gives_the_xrechnung_credit_note_too(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, post_webhook: PostWebhook,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI) -> None:
    with get_services(app).db.session() as session:
        session.get_one(Tenant, tenant).business_phone = "0221 555 0190"
    issue_by_voice({**CASE, "fields": {**CASE["fields"], "customer": TOWN_HALL}})
    original = only_number(app, tenant)
    issued_on = format_day_in(invoices(app)[original].issued_at.date(), "de_DE")  # type: ignore[union-attr]
    spoken = original.replace("-", " ")  # as Whisper may write it down: "RE 2026 0001"
    send_spoken(post_webhook, whatsapp_fake, openai_fake, f"Storno Rechnung {spoken}.")
    run_worker()
    ready = texts(whatsapp_fake)[-1]
    cancellation = original[:-4] + "0002"
    assert f"Stornorechnung {cancellation}" in ready
    assert "Stadt Köln" in button_messages(whatsapp_fake)[-1].text  # the corrected draft
    match = INVOICE_LINK.search(ready)
    assert match
    page = client.get(match.group(1)).get_data(as_text=True)
    assert f'action="{match.group(1)}/xrechnung"' in page
    xrechnung = client.post(f"{match.group(1)}/xrechnung").data  # the XRechnung credit note (content then goes)
    assert values(xrechnung, "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode/text()") == ["381"]
    assert values(xrechnung, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()") == [original]
    assert values(xrechnung, "//ram:BuyerReference/text()") == [LEITWEG_ID]
    assert check_official(xrechnung, xrechnung=True) == []
    assert invoices(app)[original].state is InvoiceState.CANCELLED
    assert issued_on in ready


def test_storno_by_voice_with_the_pdf_checked(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, post_webhook: PostWebhook,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI) -> None:
    issue_by_voice(CASE)
    original = only_number(app, tenant)
    issued_on = format_day_in(invoices(app)[original].issued_at.date(), "de_DE")  # type: ignore[union-attr]
    send_spoken(post_webhook, whatsapp_fake, openai_fake, f"Bitte storniere die Rechnung {original}")
    run_worker()
    cancellation = original[:-4] + "0002"
    check_cancellation_pdf(download(client, texts(whatsapp_fake)[-1]), cancellation, original, issued_on, "378,42")


def test_an_unknown_number_and_no_number_are_refused_and_nothing_changes(
        app: Flask, tenant: int, issue_by_voice: IssueByVoice, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(CASE)
    own = only_number(app, tenant)
    send_reply(f"STORNO {own[:-4]}0042")  # unknown
    run_worker()
    assert "finde ich bei dir nicht" in texts(whatsapp_fake)[-1]
    send_reply("STORNO")  # no number: a draft has none (it is discarded instead)
    run_worker()
    assert "Welche Rechnung soll ich stornieren" in texts(whatsapp_fake)[-1]
    assert invoices(app)[own].state is InvoiceState.ISSUED
    with get_services(app).db.session() as session:
        assert session.get_one(Tenant, tenant).invoice_counter == 1


def test_a_number_of_another_tenant_gets_the_unknown_reply(
        app: Flask, add_tenant: AddTenant, issue_by_voice: IssueByVoice, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    add_tenant()
    theirs = add_tenant(phone=OTHER_PHONE, company="Sanitär Weber GmbH")
    with get_services(app).db.session() as session:
        session.get_one(Tenant, theirs).number_format = "SW-{YYYY}-{NNNN}"
    issue_by_voice(CASE, phone=OTHER_PHONE)
    foreign = only_number(app, theirs)
    send_reply(f"STORNO {foreign}")
    run_worker()
    assert "finde ich bei dir nicht" in texts(whatsapp_fake)[-1]  # the same words as for an unknown number
    assert invoices(app)[foreign].state is InvoiceState.ISSUED
    assert [t for t in texts(whatsapp_fake, OTHER_PHONE) if "Storno" in t] == []


def test_after_the_download_deleted_the_content_the_pdf_must_come_back(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(CASE)
    download(client, texts(whatsapp_fake)[-1])  # the content is deleted at once
    original = only_number(app, tenant)
    send_reply(f"STORNO {original}")
    run_worker()
    answer = texts(whatsapp_fake)[-1]
    assert f"Die Inhalte der Rechnung {original}" in answer and "PDF-Datei" in answer and "„Storno“" in answer
    rows = invoices(app)
    assert list(rows) == [original] and rows[original].state is InvoiceState.DELETED
    assert rows[original].xml_sha256  # kept, no content: a returned PDF can be recognised by it
    with get_services(app).db.session() as session:
        assert session.get_one(Tenant, tenant).invoice_counter == 1


def test_english_tenants_get_a_cancellation_invoice(
        app: Flask, client: FlaskClient, add_tenant: AddTenant, issue_by_voice: IssueByVoice, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    tenant = add_tenant(language="en")
    case: dict[str, Any] = next(c for c in load_cases() if c["id"] == "english")
    issue_by_voice(case)
    original = only_number(app, tenant)
    send_reply(f"STORNO {original}")
    run_worker()
    ready = texts(whatsapp_fake)[-1]
    assert "Cancellation invoice" in ready and original in ready
    text = " ".join(read_page_texts(download(client, ready)))
    assert "Cancellation invoice" in text and f"Cancellation of invoice {original}" in text
    assert "Gutschrift" not in text and "Credit note" not in text


def test_a_changed_vat_rate_refuses_the_storno_instead_of_reversing_other_amounts(
        app: Flask, tenant: int, issue_by_voice: IssueByVoice, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(CASE)
    original = only_number(app, tenant)
    with get_services(app).db.session() as session:
        session.get_one(Tenant, tenant).vat_rate = Decimal(7)
    send_reply(f"STORNO {original}")
    run_worker()
    assert "Steuerangaben in deinem Profil" in texts(whatsapp_fake)[-1]
    assert invoices(app)[original].state is InvoiceState.ISSUED
    with get_services(app).db.session() as session:
        assert session.get_one(Tenant, tenant).invoice_counter == 1


def test_a_retried_storno_turn_sends_its_link_and_draft_without_a_second_number(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(CASE)
    original = only_number(app, tenant)
    drafts_before, texts_before = len(button_messages(whatsapp_fake)), len(texts(whatsapp_fake))
    unavailable = {"error": {"message": "Service temporarily unavailable", "type": "OAuthException", "code": 2}}
    whatsapp_fake.fail_next(8, 503, unavailable, path_contains="/messages")  # mark-read and the link's send fail
    send_reply(f"STORNO {original}")
    run_worker()  # the first try issues the Stornorechnung, its link cannot be sent; the retry sends link and draft
    [ready] = texts(whatsapp_fake)[texts_before:]
    cancellation = original[:-4] + "0002"
    assert f"Stornorechnung {cancellation}" in ready
    assert len(button_messages(whatsapp_fake)) == drafts_before + 1
    assert sorted(invoices(app)) == [original, cancellation]
    assert client.get(INVOICE_LINK.search(ready).group(1)).status_code == 200  # type: ignore[union-attr]
    with get_services(app).db.session() as session:
        last = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert last is not None and last.attempts == 2 and last.outcome is Outcome.CANCELLATION_ISSUED
