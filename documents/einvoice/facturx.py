"""Turn an invoice PDF into a Factur-X / ZUGFeRD PDF/A-3b: embedded factur-x.xml, AFRelationship /Data, XMP."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from functools import lru_cache
from importlib.resources import files
from typing import cast

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from documents import RenderFailed
from documents.einvoice.xmp import FACTURX_FILENAME, PdfInfo, build_xmp
from documents.labels import LABELS

logger = logging.getLogger(__name__)

CREATOR = "sprachrechnung"
SRGB_CONDITION = "sRGB IEC61966-2.1"
PDF_HEADER = "%PDF-1.7"  # PDF/A-3 builds on ISO 32000-1 (PDF 1.7)


@lru_cache(maxsize=1)
def load_srgb_profile() -> bytes:
    """The sRGB ICC profile that WeasyPrint ships (for PDFs rendered without a PDF/A variant)."""
    return files("weasyprint").joinpath("pdf", "sRGB2014.icc").read_bytes()


def embed_factur_x(pdf: bytes, xml: bytes, *, number: str, issue_date: dt.date, seller_name: str,
                   language: str, label: str = "title") -> bytes:
    """The PDF as PDF/A-3b with the CII XML embedded as factur-x.xml and matching Info and XMP metadata; `label`
    names the title's label ("cancellation_title" for a Stornorechnung)."""
    try:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    except PdfReadError as exc:
        raise RenderFailed(f"PDF could not be read for embedding: {type(exc).__name__}") from exc
    writer.pdf_header = PDF_HEADER
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    attach_xml(writer, xml, moment)
    add_output_intent(writer)
    title = f"{LABELS.get(language, LABELS['de'])[label]} {number}"
    producer = str(writer.metadata.get("/Producer") or "pypdf") if writer.metadata else "pypdf"
    info = PdfInfo(title=title, author=seller_name, subject=f"{title}, {issue_date.isoformat()}, {seller_name}",
                   keywords=f"Factur-X, ZUGFeRD, EN 16931, {title}", creator=CREATOR, producer=producer,
                   created=moment.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    set_metadata(writer, info, moment)
    if "/Lang" not in writer.root_object:
        writer.root_object[NameObject("/Lang")] = TextStringObject(language)
    writer.generate_file_identifiers()
    out = io.BytesIO()
    writer.write(out)
    logger.debug("factur-x.xml embedded (%d bytes XML, %d bytes PDF)", len(xml), out.tell())
    return out.getvalue()


def attach_xml(writer: PdfWriter, xml: bytes, moment: dt.datetime) -> None:
    """Embed the XML as factur-x.xml (text/xml, /Data) and list it in the catalog's /AF array."""
    attachment = writer.add_attachment(FACTURX_FILENAME, xml)
    attachment.alternative_name = TextStringObject(FACTURX_FILENAME)
    attachment.description = TextStringObject("Factur-X invoice (EN 16931)")
    attachment.associated_file_relationship = NameObject("/Data")
    attachment.subtype = NameObject("/text/xml")
    attachment.size = NumberObject(len(xml))
    attachment.modification_date = moment
    attachment.checksum = ByteStringObject(hashlib.md5(xml).digest())
    stream = cast(DictionaryObject, attachment.pdf_object["/EF"]).raw_get("/F")
    writer._replace_object(stream, stream.get_object().flate_encode())
    reference = attachment.pdf_object.indirect_reference
    existing = writer.root_object.get("/AF")
    af = ArrayObject(existing.get_object() if existing is not None else [])
    af.append(reference)
    writer.root_object[NameObject("/AF")] = af


def add_output_intent(writer: PdfWriter) -> None:
    """Add an sRGB PDF/A output intent unless the PDF has one (WeasyPrint's pdf/a-3b variant writes it)."""
    if "/OutputIntents" in writer.root_object:
        return
    profile = StreamObject()
    profile.set_data(load_srgb_profile())
    profile[NameObject("/N")] = NumberObject(3)
    profile = profile.flate_encode()
    intent = DictionaryObject({
        NameObject("/Type"): NameObject("/OutputIntent"),
        NameObject("/S"): NameObject("/GTS_PDFA1"),
        NameObject("/OutputConditionIdentifier"): TextStringObject(SRGB_CONDITION),
        NameObject("/Info"): TextStringObject(SRGB_CONDITION),
        NameObject("/DestOutputProfile"): writer._add_object(profile),
    })
    writer.root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    logger.debug("sRGB output intent added (the PDF was not rendered as PDF/A)")


def set_metadata(writer: PdfWriter, info: PdfInfo, moment: dt.datetime) -> None:
    """Write the Info dictionary and the XMP packet with the same values, as PDF/A asks."""
    pdf_date = moment.strftime("D:%Y%m%d%H%M%S+00'00'")
    writer.metadata = {
        "/Title": info.title, "/Author": info.author, "/Subject": info.subject, "/Keywords": info.keywords,
        "/Creator": info.creator, "/Producer": info.producer, "/CreationDate": pdf_date, "/ModDate": pdf_date,
    }
    writer.xmp_metadata = build_xmp(info)  # replaces the renderer's packet (WeasyPrint's is Flate encoded)
    stream = cast(StreamObject, writer.root_object["/Metadata"].get_object())
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
