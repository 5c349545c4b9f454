"""WeasyPrint made cheaper for invoices: the template parsed by expat, a user-agent stylesheet without rules for
pseudo-elements an invoice never has. Both rely on WeasyPrint 70's internals (pinned); tests/test_render_parsing.py
proves the layout stays that of the plain path."""
from __future__ import annotations

import logging
import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname
from xml.etree import ElementTree

import cssselect2
from weasyprint import CSS, HTML
from weasyprint.css.counters import CounterStyle
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)


# WeasyPrint's user-agent stylesheet gives every element six pseudo-elements (::marker, ::footnote-call, ...),
# and WeasyPrint computes their styles for each element, every table cell included; an invoice has no lists,
# footnotes or notes.
UNUSED_UA_RULES = re.compile(r"^::(?:marker|footnote-call|footnote-marker|note-call|note-marker|note-callback) "
                             r"\{[^}]*\}$", re.MULTILINE)


@lru_cache(maxsize=1)
def load_user_agent_stylesheet() -> CSS:
    """WeasyPrint's HTML5 user-agent stylesheet without the rules for pseudo-elements an invoice never has."""
    text = (files("weasyprint.css") / "html5_ua.css").read_text("utf-8")
    trimmed, removed = UNUSED_UA_RULES.subn("", text)
    if removed != 6:
        logger.warning("WeasyPrint's user-agent stylesheet changed: %d of 6 pseudo-element rules left out", removed)
    return CSS(string=trimmed, counter_style=CounterStyle())


class InvoiceHTML(HTML):
    """The rendered template for WeasyPrint, parsed by expat (C) rather than tinyhtml5 (Python, 30 ms at 45 items).

    The templates are well-formed XHTML (void elements closed, tables with tbody) and Jinja escapes every value,
    so expat builds the tree tinyhtml5 would. Markup that expat refuses (e.g. a control character in a customer's
    text) is parsed by tinyhtml5 as before. WeasyPrint sets itself up on an empty document first, so only the
    tree is swapped in.
    """

    def __init__(self, markup: str, base_url: str, url_fetcher: URLFetcher) -> None:
        try:
            root = ElementTree.fromstring(markup)
        except (ElementTree.ParseError, ValueError):
            logger.info("invoice markup is not well-formed XML, parsed as HTML")
            super().__init__(string=markup, base_url=base_url, url_fetcher=url_fetcher)
            return
        super().__init__(string="<html></html>", base_url=base_url, url_fetcher=url_fetcher)
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
        self.etree_element = self.wrapper_element.etree_element

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [load_user_agent_stylesheet()]


class TemplateFetcher(URLFetcher):
    """WeasyPrint's URL fetcher for invoices: data: URIs (the logo, the GiroCode) and files inside the template
    folder; anything else (another file: path, a network URL) is refused with ValueError, which stops the render
    (fail_on_errors): whatever text reached the markup, the PDF can carry no file of the machine."""

    def __init__(self, root: Path) -> None:
        super().__init__(allowed_protocols=("file", "data"), fail_on_errors=True)
        self.root = root.resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            if parts.netloc not in ("", "localhost"):
                raise ValueError("file URL on another host refused")
            path = Path(url2pathname(parts.path)).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                raise ValueError("file outside the invoice templates refused")
        elif scheme != "data":
            raise ValueError(f"{scheme or 'relative'} URL refused: invoices use their templates and data: URIs only")
        return super().fetch(url, headers)
