"""What leaves the service is hardened: security headers on every production response, logos without metadata,
a PDF renderer that reads only its own templates, and control characters from the model cleaned before the XML."""
from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from PIL import Image, ImageCms
from pypdf import PdfReader
from sqlalchemy import create_engine, select, text
from weasyprint.urls import path2url

from app import create_app
from documents import RenderFailed
from documents.pdf import render, weasy
from extraction.models import InvoiceFields
from services import get_services
from store.db import upgrade_database
from store.models import Invoice, InvoiceState
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    INVOICE_LINK,
    TENANT_PHONE,
    IssueByVoice,
    account_log_in,
    load_cases,
    load_tenant,
    make_document,
    read_page_texts,
)
from tests.test_migrations import TENANT_AT_0004, create_old_database

CASE = next(c for c in load_cases() if c["id"] == "waschbecken")
NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
HSTS = "Strict-Transport-Security"


# --- (c) security headers in production -----------------------------------------------------------
@pytest.fixture
def production_client(app_env: dict[str, str], postgres_key_store_url: str, tmp_path: Path) -> Iterator[FlaskClient]:
    config: dict[str, Any] = {k.lower(): v for k, v in app_env.items()}
    config.update(app_env="production", secret_key="s" * 40, job_retry_intervals=[0],
                  key_store_url=postgres_key_store_url)
    production = create_app({**config, "instance_path": str(tmp_path / "production")})
    yield production.test_client()
    get_services(production).close()


def test_every_production_response_forbids_sniffing_and_plain_http(production_client: FlaskClient) -> None:
    responses = {
        "404": production_client.get("/gibt-es-nicht"),
        "405": production_client.put("/healthz"),
        "health": production_client.get("/healthz"),
        "privacy": production_client.get("/datenschutz"),
        "landing": production_client.get("/"),
        "account": production_client.get("/konto"),
        "console": production_client.get("/support/login"),
        "download gone": production_client.get("/d/unbekannt"),
        "webhook verify": production_client.get("/webhook", query_string={
            "hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"}),
        "webhook unsigned": production_client.post("/webhook", data=b"{}",
                                                   headers={"Content-Type": "application/json"}),
        "form without token": production_client.post("/konto/profil"),
    }
    for name, response in responses.items():
        assert response.headers.get(HSTS) == "max-age=63072000; includeSubDomains", name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
    assert responses["404"].status_code == 404 and responses["webhook unsigned"].status_code == 401


def test_development_over_plain_http_gets_no_hsts(client: FlaskClient) -> None:
    assert HSTS not in client.get("/healthz").headers


# --- (c) logos keep no metadata -------------------------------------------------------------------
def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's segments up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    markers, at = [], 2
    while at < len(data):
        assert data[at] == 0xFF
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:  # SOS: entropy-coded data follows
            break
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return markers


ALLOWED = {0xE0, 0xDB, 0xC0, 0xC2, 0xC4, 0xDD, 0xDA}  # JFIF, quantisation, frame, Huffman, restart, scan


def make_tagged_jpeg() -> bytes:
    """A photo with everything a phone or an editor puts in: a comment, EXIF (camera, GPS), XMP, an ICC profile."""
    image = Image.new("RGB", (120, 60), (0, 90, 200))
    exif = Image.Exif()
    exif[0x010F] = "Handy AG"
    exif[0x0110] = "Modell Geheim 7"
    exif[0x8825] = {1: "N", 2: (50.0, 56.0, 17.0)}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", comment=b"Werkstatt Meier, intern: Kunde zahlt schlecht", exif=exif,
               icc_profile=icc, xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>Urheber: Hans Meier</x:xmpmeta>")
    return buffer.getvalue()


def make_commented_png() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "Werkstatt Meier, intern: Kunde zahlt schlecht")
    info.add_text("Author", "Hans Meier")
    buffer = io.BytesIO()
    Image.new("RGB", (120, 60), (0, 90, 200)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


@pytest.mark.parametrize("make", [make_tagged_jpeg, make_commented_png], ids=["jpeg", "png"])
def test_an_uploaded_logo_is_stored_without_any_metadata(app: Flask, client: FlaskClient, tenant: int,
                                                         make: Callable[[], bytes]) -> None:
    upload = make()
    token = account_log_in(app, client, tenant)
    page = client.post("/konto/logo", data={"csrf_token": token, "logo": (io.BytesIO(upload), "logo.jpg")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "Dein Logo ist gespeichert" in page.get_data(as_text=True)
    stored = load_tenant(app, tenant).logo
    assert stored is not None
    assert set(jpeg_segments(stored)) <= ALLOWED, [hex(m) for m in jpeg_segments(stored)]
    for secret in (b"Kunde zahlt schlecht", b"Handy AG", b"Geheim", b"Hans Meier", b"ICC_PROFILE", b"Exif"):
        assert secret not in stored
    logo = Image.open(io.BytesIO(stored))
    assert logo.info.keys() <= {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}, logo.info.keys()
    pixel = logo.getpixel((60, 30))
    assert isinstance(pixel, tuple) and abs(pixel[0] - 0) < 8 and abs(pixel[1] - 90) < 8 and abs(pixel[2] - 200) < 8


def test_stored_logos_lose_their_metadata_in_the_migration(tmp_path: Path) -> None:
    url = create_old_database(tmp_path, "0006")
    engine = create_engine(url)
    logo = make_tagged_jpeg()
    with engine.begin() as conn:
        conn.execute(text(TENANT_AT_0004), {"hmac": "x", "logo": logo, "mime": "image/jpeg"})
    upgrade_database(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT logo FROM tenants")).scalar_one()
    assert set(jpeg_segments(stored)) <= ALLOWED and b"Kunde zahlt schlecht" not in stored
    assert Image.open(io.BytesIO(stored)).size == (120, 60)


# --- (d) the PDF renderer reads only its own templates --------------------------------------------
@pytest.fixture
def outside_image(tmp_path: Path) -> Path:
    """A readable PNG outside the templates: what a file: URL could smuggle into a PDF."""
    path = tmp_path / "secret.png"
    Image.new("RGB", (40, 40), (200, 0, 0)).save(path)
    return path


@pytest.mark.parametrize("reference", ["file", "traversal", "http"])
def test_the_renderer_refuses_files_outside_its_templates_and_the_network(
        monkeypatch: pytest.MonkeyPatch, outside_image: Path, reference: str) -> None:
    doc = make_document()
    html = render.render_invoice_html(doc)
    url = {"file": path2url(str(outside_image)),
           "traversal": path2url(str(render.TEMPLATES)) + "/../../../../../../../.." + str(outside_image),
           "http": "http://127.0.0.1:9/logo.png"}[reference]
    monkeypatch.setattr(render, "render_invoice_html", lambda _doc: html.replace(
        "</body>", f'<img src="{url}" alt="x"/></body>'))
    with pytest.raises(RenderFailed):
        render.render_invoice_pdf(doc)


def test_the_fetcher_serves_template_files_and_data_uris_only(outside_image: Path) -> None:
    fetcher = weasy.TemplateFetcher(render.TEMPLATES)
    css = fetcher(path2url(str(render.TEMPLATES / "invoice.css")))
    assert b"@page" in css.read()
    css.close()
    assert fetcher("data:text/plain;base64,aGFsbG8=").read() == b"hallo"
    refused = [path2url(str(outside_image)), "file:///etc/passwd", "file://localhost/etc/passwd",
               path2url(str(render.TEMPLATES)) + "/../render.py", path2url(str(render.TEMPLATES)) + "/%2e%2e/render.py",
               path2url(str(render.TEMPLATES.parent)), "http://127.0.0.1:9/x.css", "https://example.org/x.css",
               "ftp://example.org/x"]
    for url in refused:
        with pytest.raises(ValueError):
            fetcher(url)


def test_a_customer_name_that_names_a_file_is_printed_as_text(outside_image: Path) -> None:
    doc = make_document(customer={"name": f'<img src="{path2url(str(outside_image))}"/>', "street": "Weg 1",
                                  "postal_code": "50667", "city": "Köln"})
    pdf = render.render_invoice_pdf(doc)
    page = read_page_texts(pdf)[0]
    assert "<img" in page and "secret.png" in page
    plain = render.render_invoice_pdf(make_document())
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == len(PdfReader(io.BytesIO(plain)).pages[0].images)


# --- (e) control characters from the model --------------------------------------------------------
def test_control_characters_in_the_models_output_are_cleaned() -> None:
    fields = copy.deepcopy(CASE["fields"])
    fields["customer"].update(name="Thomas\x0bMüller\x00", city="Kö\x1bln")
    fields["items"][1]["description"] = "Wasch\x00becken\x7f"
    fields["job_title"], fields["notes"] = "Bad\x0cumbau", "Bitte\x08 überweisen\x85"
    parsed = InvoiceFields.model_validate(fields)
    assert parsed.customer is not None
    assert (parsed.customer.name, parsed.customer.city) == ("Thomas Müller", "Kö ln")
    assert parsed.items[1].description == "Wasch becken"
    assert (parsed.job_title, parsed.notes) == ("Bad umbau", "Bitte überweisen")
    assert json.loads(parsed.model_dump_json())["customer"]["name"] == "Thomas Müller"


def test_a_control_character_from_the_model_does_not_fail_the_invoice(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp) -> None:
    case = copy.deepcopy(CASE)
    case["fields"]["customer"]["name"] = "Thomas\x0bMüller"
    case["fields"]["items"][1]["description"] = "Wasch\x00becken"
    issue_by_voice(case)

    with get_services(app).db.session() as session:
        [invoice] = session.scalars(select(Invoice).where(Invoice.tenant_id == tenant)).all()
        assert invoice.state is InvoiceState.ISSUED and invoice.number is not None
    link = INVOICE_LINK.search(whatsapp_fake.texts_to(TENANT_PHONE)[-1])
    assert link, whatsapp_fake.texts_to(TENANT_PHONE)
    [xml] = PdfReader(io.BytesIO(client.post(link.group(1)).data)).attachments["factur-x.xml"]
    root = etree.fromstring(xml)
    assert root.xpath("//ram:BuyerTradeParty/ram:Name/text()", namespaces=NS) == ["Thomas Müller"]
    assert "Wasch becken" in root.xpath("//ram:SpecifiedTradeProduct/ram:Name/text()", namespaces=NS)

