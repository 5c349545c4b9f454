"""The tradesperson's account page: magic-link login, own invoices only, profile, logo, number change, CSRF."""
from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from accounts.account import save_logo
from accounts.logos import LogoRejected
from services import get_services
from store.links import create_login_link
from store.models import (
    AuditEntry,
    DeletionReceipt,
    DeletionTrigger,
    Invoice,
    InvoiceState,
    LoginLink,
    SealedContent,
    Tenant,
    utcnow,
)
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    INVOICE_LINK,
    PROFILE,
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    SendVoiceNote,
    account_log_in,
    consume_login_link,
    issue_login_token,
    load_cases,
    load_tenant,
    phone_of,
    read_csrf,
)

CASES = [c for c in load_cases() if c["expected"] and c["language"] == "de"]
OTHER_PHONE = "+4915112345678"
NEW_PHONE = "+4917698765432"


def make_invoice(app: Flask, issue: IssueByVoice, case: dict[str, Any], phone: str = TENANT_PHONE) -> Invoice:
    """An invoice made the real way: a signed voice note, its draft, "Erstellen", the fakes at the network edge."""
    issue(case, phone)
    with get_services(app).db.session() as session:
        pseudonym = get_services(app).cipher.pseudonym(phone)
        invoice = session.scalars(select(Invoice).join(Tenant).where(Tenant.phone_hmac == pseudonym)
                                  .order_by(Invoice.created_at.desc())).first()
    assert invoice is not None
    return invoice


def count_contents(app: Flask, invoice_id: str) -> int:
    with get_services(app).db.session() as session:
        return int(session.scalar(select(func.count()).select_from(SealedContent)
                                  .where(SealedContent.invoice_id == invoice_id)) or 0)


def make_tiny_png() -> bytes:
    """A real 1×1 PNG."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x80\x00"))
            + png_chunk(b"IEND", b""))


def make_png_header(width: int, height: int) -> bytes:
    """The start of a grey PNG of width x height: small, however many pixels it claims."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(bytes(width + 1))))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode(image: Image.Image, kind: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def open_logo(data: bytes | None) -> Image.Image:
    assert data is not None
    return Image.open(io.BytesIO(data))


# login ---------------------------------------------------------------------------------------------------------
def test_login_link_get_has_no_effect_post_logs_in_and_a_second_use_is_refused(
        app: Flask, client: FlaskClient, tenant: int) -> None:
    token = issue_login_token(app, tenant)
    for _ in range(2):  # a chat app's link preview, then the person
        page = client.get(f"/konto/login/{token}")
        assert page.status_code == 200 and "Anmelden" in page.get_data(as_text=True)
    assert "KONTO" in client.get("/konto").get_data(as_text=True)  # still logged out

    response = client.post(f"/konto/login/{token}", data={"csrf_token": read_csrf(page)})
    assert response.status_code == 303
    home = client.get("/konto")
    assert "Elektro Meier GmbH" in home.get_data(as_text=True) and "Offene Rechnungen" in home.get_data(as_text=True)
    assert home.headers["Cache-Control"] == "no-store"

    again = client.post(f"/konto/login/{token}", data={"csrf_token": read_csrf(home)})
    assert again.status_code == 410 and "gilt nicht mehr" in again.get_data(as_text=True)
    other = app.test_client()  # someone who got hold of the used link
    assert other.get(f"/konto/login/{token}").status_code == 410
    assert "Offene Rechnungen" not in other.get("/konto").get_data(as_text=True)


def test_expired_login_link_is_refused(app: Flask, client: FlaskClient, tenant: int) -> None:
    token = issue_login_token(app, tenant)
    page = client.get(f"/konto/login/{token}")
    with get_services(app).db.session() as session:
        session.execute(update(LoginLink).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    assert client.get(f"/konto/login/{token}").status_code == 410
    response = client.post(f"/konto/login/{token}", data={"csrf_token": read_csrf(page)})
    assert response.status_code == 410 and "15 Minuten" in response.get_data(as_text=True)
    assert "Offene Rechnungen" not in client.get("/konto").get_data(as_text=True)


def test_login_link_lives_15_minutes_and_works_once(app: Flask, tenant: int) -> None:
    start = utcnow()
    with get_services(app).db.session() as session:
        late, in_time = create_login_link(session, tenant, now=start), create_login_link(session, tenant, now=start)
    with get_services(app).db.session() as session:
        assert consume_login_link(session, late, now=start + dt.timedelta(minutes=15, seconds=1)) is None
        assert consume_login_link(session, in_time, now=start + dt.timedelta(minutes=14)) == tenant
        assert consume_login_link(session, in_time, now=start + dt.timedelta(minutes=14)) is None
        assert consume_login_link(session, "not-a-token") is None


def test_disabled_tenant_loses_the_account_page(app: Flask, client: FlaskClient, tenant: int) -> None:
    account_log_in(app, client, tenant)
    token = issue_login_token(app, tenant)
    with get_services(app).db.session() as session:
        session.get_one(Tenant, tenant).active = False
    assert "Offene Rechnungen" not in client.get("/konto").get_data(as_text=True)
    assert client.get(f"/konto/login/{token}").status_code == 410


def test_logout_ends_the_session_even_for_a_copied_cookie(app: Flask, client: FlaskClient, tenant: int) -> None:
    token = account_log_in(app, client, tenant)
    copied = client.get_cookie("session")
    assert copied is not None
    response = client.post("/konto/abmelden", data={"csrf_token": token}, follow_redirects=True)
    assert "Du bist abgemeldet" in response.get_data(as_text=True)
    client.set_cookie("session", copied.value)  # replaying the old session cookie and form
    replay = client.post("/konto/profil", data={**PROFILE, "csrf_token": token})
    assert replay.status_code == 403 and "KONTO" in replay.get_data(as_text=True)
    assert load_tenant(app, tenant).company == "Elektro Meier GmbH"


# invoices ------------------------------------------------------------------------------------------------------
def test_account_page_without_login_shows_no_invoices(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice) -> None:
    invoice = make_invoice(app, issue_by_voice, CASES[0])
    page = client.get("/konto")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "KONTO" in text
    assert invoice.id not in text and invoice.number not in text
    response = client.post(f"/konto/rechnungen/{invoice.id}/pdf", data={"csrf_token": read_csrf(client.get(
        f"/konto/login/{issue_login_token(app, tenant)}"))})
    assert response.status_code == 403 and response.mimetype != "application/pdf"
    assert count_contents(app, invoice.id) == 4  # transcript, fields, pdf, xml


def test_a_tenant_sees_and_downloads_only_its_own_invoices(
        app: Flask, client: FlaskClient, tenant: int, add_tenant: AddTenant,
        issue_by_voice: IssueByVoice) -> None:
    other = add_tenant(phone=OTHER_PHONE, company="Sanitär Schulz")
    mine = make_invoice(app, issue_by_voice, CASES[0])
    theirs = make_invoice(app, issue_by_voice, CASES[1], phone=OTHER_PHONE)
    assert theirs.tenant_id == other

    token = account_log_in(app, client, tenant)
    page = client.get("/konto").get_data(as_text=True)
    assert mine.id in page and mine.number in page
    assert theirs.id not in page and "Sanitär Schulz" not in page

    guessed = client.post(f"/konto/rechnungen/{theirs.id}/pdf", data={"csrf_token": token})
    assert guessed.status_code == 404 and guessed.mimetype != "application/pdf"
    assert "Rechnung nicht verfügbar" in guessed.get_data(as_text=True)
    for unknown in ("00000000-0000-0000-0000-000000000000", "x" * 500):
        assert client.post(f"/konto/rechnungen/{unknown}/pdf", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/konto/rechnungen/{theirs.id}/pdf").status_code == 405
    assert count_contents(app, theirs.id) == 4
    with get_services(app).db.session() as session:
        assert session.get_one(Invoice, theirs.id).state is InvoiceState.ISSUED

    their_client = app.test_client()
    account_log_in(app, their_client, other)
    their_page = their_client.get("/konto").get_data(as_text=True)
    assert theirs.id in their_page and mine.id not in their_page


def test_download_from_the_account_page_returns_the_pdf_and_deletes_the_content(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp) -> None:
    invoice = make_invoice(app, issue_by_voice, CASES[0])
    [reply] = whatsapp_fake.texts_to(TENANT_PHONE)
    magic = INVOICE_LINK.search(reply)
    assert magic
    token = account_log_in(app, client, tenant)

    response = client.post(f"/konto/rechnungen/{invoice.id}/pdf", data={"csrf_token": token})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert invoice.number in text and CASES[0]["fields"]["customer"]["name"] in text

    assert count_contents(app, invoice.id) == 0
    with get_services(app).db.session() as session:
        assert session.scalars(select(DeletionReceipt)).one().trigger is DeletionTrigger.DOWNLOAD
    page = client.get("/konto").get_data(as_text=True)
    assert invoice.id not in page and "Keine offenen Rechnungen" in page
    assert client.post(f"/konto/rechnungen/{invoice.id}/pdf", data={"csrf_token": token}).status_code == 404
    assert client.get(magic.group(1)).status_code == 410  # the WhatsApp link is spent too


# profile -------------------------------------------------------------------------------------------------------
def test_profile_changes_are_saved_and_used_for_the_next_invoice(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp) -> None:
    token = account_log_in(app, client, tenant)
    response = client.post("/konto/profil", data={**PROFILE, "csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Dein Profil ist gespeichert" in page and "Elektro Meier &amp; Sohn GmbH" in page
    assert 'value="EM-{YYYY}/{NNN}"' in page and 'value="62.50"' in page
    saved = load_tenant(app, tenant)
    assert (saved.iban, saved.vat_id, str(saved.hourly_rate), saved.payment_terms_days, saved.business_phone) == (
        "DE89370400440532013000", "DE123456788", "62.50", 30, "0221 987654-0")

    make_invoice(app, issue_by_voice, CASES[0])
    [reply] = whatsapp_fake.texts_to(TENANT_PHONE)
    assert f"EM-{dt.date.today().year}/001" in reply

    english = {**PROFILE, "language": "en", "small_business": "on", "vat_rate": "0", "csrf_token": token}
    page = client.post("/konto/profil", data=english, follow_redirects=True).get_data(as_text=True)
    assert "Your profile has been saved" in page and "Open invoices" in page
    saved = load_tenant(app, tenant)
    assert saved.small_business and saved.vat_rate == 0 and saved.language == "en"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("iban", "DE89 3704 0044 0532 0130 01", "Prüfziffern passen nicht"),
    ("vat_rate", "16", "19 %, 7 % oder 0 %"),
    ("number_format", "RE-{YYYY}-0001", "genau einen Zähler"),
    ("payment_terms_days", "120", "zwischen 0 und 90 Tagen"),
    ("hourly_rate", "1e9999", "zwischen 0 und 1000 Euro"),
    ("company", "  ", "Firmennamen"),
    ("business_phone", "ruf an", "Telefonnummer sieht nicht richtig aus"),
])
def test_bad_profile_input_shows_a_message_and_changes_nothing(
        app: Flask, client: FlaskClient, tenant: int, field: str, value: str, message: str) -> None:
    token = account_log_in(app, client, tenant)
    before = load_tenant(app, tenant)
    response = client.post("/konto/profil", data={**PROFILE, field: value, "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page and "Es wurde nichts geändert" in page
    assert f'value="{value.strip()}"' in page or field == "vat_rate"  # what was typed stays in the form
    after = load_tenant(app, tenant)
    assert {c: getattr(after, c) for c in PROFILE} == {c: getattr(before, c) for c in PROFILE}


# logo ----------------------------------------------------------------------------------------------------------
def test_logo_upload_takes_a_real_png_and_refuses_anything_else(app: Flask, client: FlaskClient, tenant: int) -> None:
    token = account_log_in(app, client, tenant)
    png = make_tiny_png()

    def upload(data: bytes, name: str) -> TestResponse:
        form = {"csrf_token": token, "logo": (io.BytesIO(data), name)}
        return client.post("/konto/logo", data=form, content_type="multipart/form-data", follow_redirects=True)

    page = upload(png, "logo.png").get_data(as_text=True)
    assert "Dein Logo ist gespeichert" in page and 'src="data:image/jpeg;base64,' in page
    saved = load_tenant(app, tenant)
    assert saved.logo is not None and saved.logo_mime == "image/jpeg"  # normalised: see the tests below
    assert open_logo(saved.logo).size == (1, 1)

    refused = upload(b"Ich bin eine Textdatei\n", "logo.png")
    assert refused.status_code == 422 and "kein PNG- oder JPEG-Bild" in refused.get_data(as_text=True)
    too_big = upload(b"\x89PNG\r\n\x1a\n" + bytes(512 * 1024), "big.png")
    assert too_big.status_code == 422 and "höchstens 512 KB" in too_big.get_data(as_text=True)
    jpeg = encode(Image.new("RGB", (40, 20), (0, 90, 200)), "JPEG")
    cut_off = make_transparent_png((600, 100), "RGBA")
    for corrupt in (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100), jpeg[:len(jpeg) // 2], cut_off[:300]):
        refused = upload(corrupt, "logo.jpg")  # the right first bytes, but no image Pillow can read
        assert refused.status_code == 422 and "kein PNG- oder JPEG-Bild" in refused.get_data(as_text=True)
    huge = upload(make_png_header(6000, 4000), "riesig.png")  # 24 megapixels, refused before decoding
    assert huge.status_code == 422 and "höchstens 20 Megapixel" in huge.get_data(as_text=True)
    after = load_tenant(app, tenant)
    assert (after.logo, after.logo_mime) == (saved.logo, saved.logo_mime)

    assert "Dein Logo ist gespeichert" in upload(jpeg, "foto.bin").get_data(as_text=True)
    assert open_logo(load_tenant(app, tenant).logo).size == (40, 20)


def make_transparent_png(size: tuple[int, int], mode: str) -> bytes:
    """Left half transparent (black behind it), right half opaque blue; RGBA or a palette PNG with tRNS."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste((0, 90, 200, 255), (size[0] // 2, 0, size[0], size[1]))
    if mode == "P":
        palette = Image.new("P", size, 0)
        palette.putpalette([0, 0, 0, 0, 90, 200])
        palette.paste(1, (size[0] // 2, 0, size[0], size[1]))
        return encode(palette, "PNG", transparency=0)
    return encode(image, "PNG")


@pytest.mark.parametrize("mode, size, stored", [("RGBA", (2400, 1000), (708, 295)), ("RGBA", (600, 100), (600, 100)),
                                                ("P", (1000, 200), (709, 142))])
def test_logo_is_stored_flattened_on_white_as_rgb_within_the_box_at_300_dpi(
        app: Flask, tenant: int, mode: str, size: tuple[int, int], stored: tuple[int, int]) -> None:
    with get_services(app).db.session() as session:
        assert save_logo(session, tenant, make_transparent_png(size, mode)) == "image/jpeg"
    saved = load_tenant(app, tenant)
    assert saved.logo is not None and saved.logo_mime == "image/jpeg"
    logo = open_logo(saved.logo)

    assert logo.format == "JPEG" and logo.mode == "RGB" and logo.size == stored  # shrunk, never enlarged
    left, right = logo.getpixel((5, logo.height // 2)), logo.getpixel((logo.width - 5, logo.height // 2))
    assert isinstance(left, tuple) and min(left) >= 250  # the transparent half is white, as on the page
    assert isinstance(right, tuple) and right[2] > 190 and right[0] < 10
    assert not logo.getexif() and "icc_profile" not in logo.info


def test_a_rotated_phone_photo_is_stored_upright(app: Flask, tenant: int) -> None:
    photo = Image.new("RGB", (800, 400), (220, 0, 0))
    photo.paste((0, 90, 200), (400, 0, 800, 400))
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: to be rotated 90 degrees clockwise for display
    exif[0x010F] = "Handy AG"
    with get_services(app).db.session() as session:
        save_logo(session, tenant, encode(photo, "JPEG", exif=exif))
    logo = open_logo(load_tenant(app, tenant).logo)

    assert logo.size == (147, 295) and not logo.getexif()  # upright, then shrunk; no camera data kept
    top, bottom = logo.getpixel((73, 10)), logo.getpixel((73, 285))
    assert isinstance(top, tuple) and top[0] > 200 and top[2] < 30  # the left (red) half is now on top
    assert isinstance(bottom, tuple) and bottom[2] > 190 and bottom[0] < 10


def test_a_logo_with_too_many_pixels_is_refused_without_decoding_it(app: Flask, tenant: int) -> None:
    with get_services(app).db.session() as session:
        for width, height in ((5000, 4001), (40000, 40000)):  # over the 20 MP limit; over Pillow's bomb limit
            with pytest.raises(LogoRejected) as refused:
                save_logo(session, tenant, make_png_header(width, height))
            assert refused.value.reason == "too_many_pixels"
    assert load_tenant(app, tenant).logo is None


# WhatsApp number -----------------------------------------------------------------------------------------------
def read_sent_code(whatsapp_fake: FakeWhatsApp, to: str) -> str:
    [template] = [m for m in whatsapp_fake.sent if m.get("type") == "template" and m["to"] == to.lstrip("+")]
    return str(template["template"]["components"][0]["parameters"][0]["text"])


def test_number_change_needs_the_code_sent_to_the_new_number(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp,
        send_voice_note: SendVoiceNote, issue_by_voice: IssueByVoice, run_worker: Callable[[], None]) -> None:
    token = account_log_in(app, client, tenant)
    page = client.post("/konto/nummer", data={"phone": "0176 98765432", "csrf_token": token}, follow_redirects=True)
    assert "Code per WhatsApp an die neue Nummer" in page.get_data(as_text=True)
    assert NEW_PHONE in page.get_data(as_text=True)
    code = read_sent_code(whatsapp_fake, NEW_PHONE)
    assert phone_of(app, tenant) == TENANT_PHONE  # nothing switched yet

    wrong = client.post("/konto/nummer/code", data={"code": "000000" if code != "000000" else "111111",
                                                    "csrf_token": token})
    assert wrong.status_code == 422 and "noch 4 Versuche" in wrong.get_data(as_text=True)
    assert phone_of(app, tenant) == TENANT_PHONE

    right = client.post("/konto/nummer/code", data={"code": f"{code[:3]} {code[3:]}", "csrf_token": token},
                        follow_redirects=True)
    assert "WhatsApp-Nummer ist geändert" in right.get_data(as_text=True)
    assert phone_of(app, tenant) == NEW_PHONE
    with get_services(app).db.session() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "number_changed")).one()
        assert (entry.actor, entry.tenant_id) == ("tenant", tenant)

    send_voice_note(CASES[0], TENANT_PHONE)  # the old number is now unknown: nothing is processed
    run_worker()
    assert whatsapp_fake.media_downloads == []
    issue_by_voice(CASES[1], NEW_PHONE)
    with get_services(app).db.session() as session:
        invoice = session.scalars(select(Invoice)).one()
    assert invoice.tenant_id == tenant and invoice.number is not None
    assert any(invoice.number in text for text in whatsapp_fake.texts_to(NEW_PHONE))


def test_number_change_is_locked_after_five_wrong_codes(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp) -> None:
    token = account_log_in(app, client, tenant)
    client.post("/konto/nummer", data={"phone": NEW_PHONE, "csrf_token": token})
    code = read_sent_code(whatsapp_fake, NEW_PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for remaining in (4, 3, 2):
        page = client.post("/konto/nummer/code", data={"code": wrong, "csrf_token": token}).get_data(as_text=True)
        assert f"noch {remaining} Versuche" in page
    page = client.post("/konto/nummer/code", data={"code": wrong, "csrf_token": token}).get_data(as_text=True)
    assert "noch einen Versuch" in page
    for attempt in (wrong, code):  # the fifth wrong code locks; then even the right one is refused
        page = client.post("/konto/nummer/code", data={"code": attempt, "csrf_token": token}).get_data(as_text=True)
        assert "Zu viele falsche Codes" in page
    assert phone_of(app, tenant) == TENANT_PHONE
    page = client.post("/konto/nummer/code", data={"code": "12ab", "csrf_token": token}).get_data(as_text=True)
    assert "6-stelligen Code" in page


def test_number_change_codes_are_limited_and_a_failed_send_keeps_nothing(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp) -> None:
    token = account_log_in(app, client, tenant)
    whatsapp_fake.fail_next(4, 503, {"error": {"message": "temporarily unavailable", "code": 2}})
    failed = client.post("/konto/nummer", data={"phone": NEW_PHONE, "csrf_token": token})
    assert failed.status_code == 502 and "nicht über WhatsApp verschickt" in failed.get_data(as_text=True)
    assert NEW_PHONE not in client.get("/konto").get_data(as_text=True)  # no code is waiting
    for _ in range(3):
        assert client.post("/konto/nummer", data={"phone": NEW_PHONE, "csrf_token": token}).status_code == 303
    limited = client.post("/konto/nummer", data={"phone": NEW_PHONE, "csrf_token": token})
    assert limited.status_code == 429 and "zu viele Codes" in limited.get_data(as_text=True)
    assert len([m for m in whatsapp_fake.sent if m.get("type") == "template"]) == 3


@pytest.mark.parametrize(("phone", "message"), [
    (OTHER_PHONE, "gehört bereits zu einem anderen Konto"),
    ("12345", "Diese Nummer ist ungültig"),
    (TENANT_PHONE, "Das ist schon deine WhatsApp-Nummer"),
])
def test_number_change_to_a_bad_or_taken_number_is_refused(
        app: Flask, client: FlaskClient, tenant: int, add_tenant: AddTenant, whatsapp_fake: FakeWhatsApp,
        phone: str, message: str) -> None:
    add_tenant(phone=OTHER_PHONE, company="Sanitär Schulz")
    token = account_log_in(app, client, tenant)
    response = client.post("/konto/nummer", data={"phone": phone, "csrf_token": token})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert [m for m in whatsapp_fake.sent if m.get("type") == "template"] == []
    assert phone_of(app, tenant) == TENANT_PHONE


# forged posts --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sent_token", [None, "forged-token"])
def test_post_without_the_session_csrf_token_is_refused_and_changes_nothing(
        app: Flask, client: FlaskClient, tenant: int, whatsapp_fake: FakeWhatsApp, sent_token: str | None) -> None:
    account_log_in(app, client, tenant)
    extra = {"csrf_token": sent_token} if sent_token else {}
    for path, form in (("/konto/profil", PROFILE), ("/konto/nummer", {"phone": NEW_PHONE}),
                       ("/konto/abmelden", {})):
        response = client.post(path, data={**form, **extra})
        assert response.status_code == 400, path
    assert load_tenant(app, tenant).company == "Elektro Meier GmbH"
    assert whatsapp_fake.sent == []
    assert "Offene Rechnungen" in client.get("/konto").get_data(as_text=True)  # still logged in
