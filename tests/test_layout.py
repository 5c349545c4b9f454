"""The printed layout, measured on the PDF: DIN 5008 window and marks, page breaks, footer, logo, GiroCode."""
from __future__ import annotations

import io
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from accounts.logos import normalise_logo
from documents.pdf.girocode import make_epc_payload
from documents.pdf.render import render_invoice_pdf
from tests.helpers import (
    SELLER,
    encode_image,
    make_document,
    make_logo,
    make_long_document,
    read_page_texts,
    read_words,
)

WINDOW = (20.0, 45.0, 105.0, 90.0)  # left, top, right, bottom in mm from the page's top left corner
ADDRESS_ZONE_TOP = 45.0 + 17.7
DPI = 100
DARK = 160  # grey level below which a pixel counts as ink


def render_page(pdf: bytes, tmp_path: Path, dpi: int = DPI) -> Image.Image:
    """Page 1 as an RGB image, rendered by poppler's pdftoppm."""
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-png", "-singlefile", "-",
                    str(tmp_path / "page")], input=pdf, check=True)
    return Image.open(tmp_path / "page.png").convert("RGB")


def find_images(pdf: bytes) -> list[tuple[int, int]]:
    """Width and height in pixels of the images in page 1's resources (none may ask for interpolation: PDF/A)."""
    resources: Any = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]
    images = [x.get_object() for x in resources.get("/XObject", {}).values()]
    images = [x for x in images if x["/Subtype"] == "/Image"]
    assert not [x for x in images if getattr(x.get("/Interpolate"), "value", False)]
    return sorted((int(x["/Width"]), int(x["/Height"])) for x in images)


def find_ink(image: Image.Image, box: tuple[float, float, float, float], dark: int = DARK) -> tuple[float, ...] | None:
    """The bounding box in mm of the pixels darker than dark inside box (mm), or None when it is blank."""
    scale = DPI / 25.4
    left, top = round(box[0] * scale), round(box[1] * scale)
    crop = image.crop((left, top, round(box[2] * scale), round(box[3] * scale))).convert("L")
    found = crop.point(lambda v: 255 if v < dark else 0).getbbox()
    if found is None:
        return None
    return ((found[0] + left) / scale, (found[1] + top) / scale, (found[2] + left) / scale, (found[3] + top) / scale)


def is_inside(box: tuple[float, ...], frame: tuple[float, ...], slack: float = 0.3) -> bool:
    return (box[0] >= frame[0] - slack and box[1] >= frame[1] - slack and box[2] <= frame[2] + slack
            and box[3] <= frame[3] + slack)


@pytest.fixture(scope="module")
def simple_pdf() -> bytes:
    return render_invoice_pdf(make_document())


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    return render_invoice_pdf(make_long_document())


def test_customer_address_words_lie_inside_the_window(simple_pdf: bytes) -> None:
    page_one = [w for w in read_words(simple_pdf) if w.page == 1 and 40 < w.box[1] < 95 and w.box[0] < 110]
    small = [w for w in page_one if w.box[3] - w.box[1] < 3]  # the return address in 6.5 pt
    address = [w for w in page_one if w not in small]

    assert [w.text for w in address] == ["Thomas", "Müller", "Lindenstraße", "12", "50674", "Köln"]
    assert " ".join(w.text for w in small) == "Sanitär Weber GmbH · Werkstattweg 5 · 50823 Köln"

    assert all(is_inside(w.box, (WINDOW[0], ADDRESS_ZONE_TOP, WINDOW[2], WINDOW[3])) for w in address), address
    assert all(is_inside(w.box, (WINDOW[0], WINDOW[1], WINDOW[2], ADDRESS_ZONE_TOP)) for w in small)


def test_window_pixels_hold_the_address_and_nothing_spills_out(simple_pdf: bytes, tmp_path: Path) -> None:
    image = render_page(simple_pdf, tmp_path)

    ink = find_ink(image, (12, 36, 122, 96))  # the window with a margin, left of the information block
    assert ink is not None and is_inside(ink, WINDOW, slack=0.5), ink
    address_ink = find_ink(image, (WINDOW[0], ADDRESS_ZONE_TOP, WINDOW[2], WINDOW[3]))
    assert address_ink is not None and address_ink[3] - address_ink[1] > 10  # three lines of text


def test_fold_and_hole_marks_sit_in_the_left_margin(simple_pdf: bytes, tmp_path: Path) -> None:
    image = render_page(simple_pdf, tmp_path)
    rows = [y for y in range(0, 297, 1) if find_ink(image, (3, y, 15, y + 1), dark=200)]  # hairlines
    groups: list[list[int]] = []
    for y in rows:
        if groups and y - groups[-1][-1] <= 1:
            groups[-1].append(y)
        else:
            groups.append([y])

    centres = [(g[0] + g[-1] + 1) / 2 for g in groups]
    assert len(centres) == 3, rows
    for centre, expected in zip(centres, (105, 148.5, 210), strict=True):
        assert abs(centre - expected) <= 1.0, centres


@pytest.mark.parametrize("language, header, page_label", [("de", "Pos. Beschreibung Menge Einheit Einzelpreis Gesamt",
                                                           "Seite {} von {}"),
                                                          ("en", "No. Description Qty Unit Unit price Amount",
                                                           "Page {} of {}")])
def test_long_invoices_break_across_pages_with_header_and_page_numbers(long_pdf: bytes, language: str,
                                                                       header: str, page_label: str) -> None:
    pdf = long_pdf if language == "de" else render_invoice_pdf(make_long_document("en"))
    pages = read_page_texts(pdf)

    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert page_label.format(number, len(pages)) in text
        assert "Sanitär Weber GmbH" in text and "DE89 3704 0044 0532 0130 00" in text and "COBADEFFXXX" in text
        assert "217/5730/0815" in text and "info@weber-sanitaer.de" in text
    for text in pages[:-1]:
        assert header in text  # the table header repeats on every page the table reaches
    everything = " ".join(pages)
    assert all(f"Material Nr. {n} " in everything for n in (1, 2, 3, 5, 44, 45))


def test_long_words_and_names_stay_inside_their_boxes(long_pdf: bytes) -> None:
    words = read_words(long_pdf)

    assert all(w.box[0] >= 19.5 and w.box[2] <= 190.5 and w.box[1] >= 0 and w.box[3] <= 297 for w in words)
    window_words = [w for w in words if w.page == 1 and 40 < w.box[1] < 95 and w.box[0] < 110]
    assert {"50674", "Köln", "Lindenstraße"} <= {w.text for w in window_words}  # nothing cut off at the bottom
    assert all(is_inside(w.box, WINDOW) for w in window_words)


def test_special_letters_render_as_text(long_pdf: bytes) -> None:
    text = " ".join(read_page_texts(long_pdf))

    for word in ("Ğülşen", "Żółć-Wąsowska-Müßiggang", "Łódźer", "Lindenstraße", "Köln"):
        assert word in text


@pytest.mark.parametrize("kind, mime", [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_logo_is_embedded_top_right(kind: str, mime: str, tmp_path: Path) -> None:
    pdf = render_invoice_pdf(make_document(seller=replace(SELLER, logo=make_logo(kind), logo_mime=mime)))
    images = find_images(pdf)

    assert (300, 100) in images and len(images) == 2  # the logo and the GiroCode
    colour = render_page(pdf, tmp_path).getpixel((round(180 * DPI / 25.4), round(15 * DPI / 25.4)))
    assert isinstance(colour, tuple) and colour[2] > 150 and colour[0] < 60  # blue at the top right


def test_a_normalised_logo_is_copied_into_the_pdf_as_it_is(tmp_path: Path) -> None:
    upload = Image.new("RGBA", (1200, 500), (0, 0, 0, 0))  # transparent around a blue block
    upload.paste((0, 90, 200, 255), (300, 0, 1200, 500))
    logo, mime = normalise_logo(encode_image(upload, "PNG"))
    pdf = render_invoice_pdf(make_document(seller=replace(SELLER, logo=logo, logo_mime=mime)))
    resources: Any = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]
    [image] = [x.get_object() for x in resources["/XObject"].values() if x.get_object()["/Width"] == 708]

    assert image["/Height"] == 295 and image["/Filter"] == "/DCTDecode"  # shrunk to 300 dpi, not re-encoded
    assert "/SMask" not in image
    assert image.get_data() == logo and image["/ColorSpace"] == "/DeviceRGB"
    colour = render_page(pdf, tmp_path).getpixel((round(180 * DPI / 25.4), round(15 * DPI / 25.4)))
    assert isinstance(colour, tuple) and colour[2] > 150 and colour[0] < 60  # blue at the top right


def test_no_logo_leaves_only_the_girocode_image() -> None:
    pdf = render_invoice_pdf(make_document(seller=replace(SELLER, logo=None, logo_mime=None)))
    assert (300, 100) not in find_images(pdf) and len(find_images(pdf)) == 1  # the GiroCode only


@pytest.mark.parametrize("language, remittance", [("de", "Rechnung 2026-0042"), ("en", "Invoice 2026-0042")])
def test_girocode_decodes_to_the_epc_payload_next_to_the_payment_text(language: str, remittance: str,
                                                                       tmp_path: Path) -> None:
    doc = make_document(language=language)
    pdf = render_invoice_pdf(doc)
    render_page(pdf, tmp_path, dpi=200)
    # binary: the raw UTF-8 bytes (zbar would otherwise guess a charset for the byte segment, often wrongly)
    scan = subprocess.run(["zbarimg", "--raw", "-q", "-Sdisable", "-Sqrcode.enable", "-Sqrcode.binary",
                           str(tmp_path / "page.png")], capture_output=True, check=True).stdout.decode()

    expected = make_epc_payload(SELLER.company, SELLER.iban, doc.totals.gross, remittance, SELLER.bic)
    assert scan.rstrip("\n") == expected
    assert expected == ("BCD\n002\n1\nSCT\nCOBADEFFXXX\nSanitär Weber GmbH\nDE89370400440532013000\nEUR360.57\n\n\n"
                        + remittance)
    words = read_words(pdf)
    caption = next(w for w in words if w.text == "GiroCode")
    payment = next(w for w in words if w.text in {"überweisen", "transfer"})
    assert caption.page == payment.page and abs(caption.box[1] - payment.box[1]) < 45


def test_huge_amounts_stay_inside_their_columns() -> None:
    items = [{"description": "Anlage", "quantity": "10000", "unit": "lump_sum", "unit_price": "99999.99",
              "kind": "material"}] * 2
    words = read_words(render_invoice_pdf(make_document(items=items, language="en")))

    assert "€999,999,900.00" in {w.text for w in words}
    assert all(w.box[0] >= 19.5 and w.box[2] <= 190.5 for w in words)
