"""The fast parse path of the invoice renderer: expat reads the templates and lays them out as tinyhtml5 would."""
from __future__ import annotations

import dataclasses
from xml.etree import ElementTree

import pytest
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from documents.pdf.render import (
    TEMPLATES,
    get_font_configuration,
    load_page_label_stylesheet,
    load_stylesheet,
    render_invoice_html,
    render_invoice_pdf,
)
from documents.pdf.weasy import InvoiceHTML
from tests.helpers import make_document, make_long_document, read_page_texts, read_words


def write_pdf(html: HTML, language: str) -> bytes:
    return html.write_pdf(stylesheets=[load_stylesheet(TEMPLATES), load_page_label_stylesheet(language)],
                          font_config=get_font_configuration(), pdf_variant="pdf/a-3b")


@pytest.mark.parametrize("language", ["de", "en"])
def test_templates_are_well_formed_xml(language: str) -> None:
    doc = make_long_document(language)
    ElementTree.fromstring(render_invoice_html(doc))  # else every render would fall back to tinyhtml5
    ElementTree.fromstring(render_invoice_html(dataclasses.replace(doc, notes="a & b\n<c>", job_title='"x"')))


def test_expat_tree_lays_out_like_the_html_parser() -> None:
    doc = make_long_document()
    markup, base = render_invoice_html(doc), TEMPLATES.as_uri() + "/"
    fast = write_pdf(InvoiceHTML(markup, base, URLFetcher(allowed_protocols=("file", "data"))), "de")
    usual = write_pdf(HTML(string=markup, base_url=base, url_fetcher=URLFetcher(allowed_protocols=("file", "data"))),
                      "de")

    fast_words, usual_words = read_words(fast), read_words(usual)
    assert [(w.page, w.text) for w in fast_words] == [(w.page, w.text) for w in usual_words]
    assert all(abs(a - b) < 0.01 for f, u in zip(fast_words, usual_words, strict=True)
               for a, b in zip(f.box, u.box, strict=True))


def test_markup_expat_refuses_is_parsed_as_html() -> None:
    doc = make_document()
    customer = doc.customer.model_copy(update={"name": "Anna\x0bBerg"})  # not allowed in XML 1.0
    markup = render_invoice_html(dataclasses.replace(doc, customer=customer))
    with pytest.raises(ElementTree.ParseError):
        ElementTree.fromstring(markup)

    text = " ".join(read_page_texts(render_invoice_pdf(dataclasses.replace(doc, customer=customer))))
    assert "Anna" in text and "Berg" in text and "Seite 1 von 1" in text
