"""GiroCode (EPC QR code, version 002) for paying an invoice by scanning it with a banking app."""
from __future__ import annotations

import base64
import io
import logging
import re
from decimal import Decimal

import segno
from PIL import Image
from segno.helpers import make_epc_qr

from documents.bank import compact_bic, compact_iban

logger = logging.getLogger(__name__)

MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
MAX_NAME = 70  # EPC069-12: beneficiary name
MAX_TEXT = 140  # EPC069-12: unstructured remittance information
SCALE = 10  # pixels a module: viewers smooth small images
BORDER = 4  # modules of quiet zone
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean_field(value: str | None, limit: int) -> str:
    """One line of at most limit characters: line breaks would shift the EPC fields."""
    return " ".join(CONTROL.sub(" ", value or "").split())[:limit].rstrip()


def normalise_fields(name: str, iban: str, amount: Decimal, text: str,
                     bic: str | None) -> tuple[str, str, Decimal, str, str] | None:
    """Name, IBAN, amount, text and BIC as the EPC rules want them; None outside the limits (e.g. 0 euros)."""
    name, iban, text, bic = clean_field(name, MAX_NAME), compact_iban(iban), clean_field(text, MAX_TEXT), \
        compact_bic(bic)
    amount = amount.quantize(MIN_AMOUNT)
    if not (MIN_AMOUNT <= amount <= MAX_AMOUNT and name and 4 < len(iban) <= 34):
        return None
    return name, iban, amount, text or "-", bic if len(bic) in (8, 11) else ""


def make_epc_payload(name: str, iban: str, amount: Decimal, text: str, bic: str | None = None) -> str | None:
    """The EPC QR text (UTF-8, SEPA credit transfer, unstructured remittance); None when no code fits."""
    fields = normalise_fields(name, iban, amount, text, bic)
    if fields is None:
        return None
    name, iban, amount, text, bic = fields
    euros = f"EUR{amount:.2f}".rstrip("0").rstrip(".")
    return "\n".join(["BCD", "002", "1", "SCT", bic, name, iban, euros, "", "", text])


def make_girocode(name: str, iban: str, amount: Decimal, text: str, bic: str | None = None) -> segno.QRCode | None:
    """The QR code holding make_epc_payload's text (error level M, version <= 13); None when no code fits."""
    fields = normalise_fields(name, iban, amount, text, bic)
    if fields is None:
        return None
    name, iban, amount, text, bic = fields
    try:
        return make_epc_qr(name, iban, amount, text=text, bic=bic or None, encoding="utf-8")
    except ValueError as exc:  # e.g. a payload over 331 bytes
        logger.warning("no GiroCode: %s", exc)
        return None


def render_girocode_uri(name: str, iban: str, amount: Decimal, text: str, bic: str | None = None) -> str | None:
    """The GiroCode as a PNG data: URI, 10 pixels a module in a 4-module quiet zone; None when no code fits.

    The pixels are those of segno's png_data_uri(scale=10, border=4), as 8-bit grey drawn by Pillow: segno writes
    a 1-bit PNG in Python, which WeasyPrint then converts to RGB and encodes once more, while it embeds a grey
    PNG as it is (about 15 ms of every render).
    """
    qr = make_girocode(name, iban, amount, text, bic)
    if qr is None:
        return None
    size = len(qr.matrix)
    modules = Image.frombytes("L", (size, size), bytes(0 if dark else 255 for row in qr.matrix for dark in row))
    symbol = Image.new("L", (size + 2 * BORDER,) * 2, 255)
    symbol.paste(modules, (BORDER, BORDER))
    symbol = symbol.resize((symbol.width * SCALE,) * 2, Image.Resampling.NEAREST)
    png = io.BytesIO()
    symbol.save(png, "PNG")
    return f"data:image/png;base64,{base64.b64encode(png.getvalue()).decode('ascii')}"
