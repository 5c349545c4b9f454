"""The EN 16931 XML embedded in an issued Factur-X PDF, read in memory."""
from __future__ import annotations

from facturx import get_xml_from_pdf


def read_embedded_xml(pdf: bytes) -> bytes | None:
    """The Factur-X/ZUGFeRD XML inside the PDF, None when there is none."""
    _name, xml = get_xml_from_pdf(pdf, check_xsd=False)
    return xml or None
