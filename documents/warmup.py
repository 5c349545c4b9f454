"""Render one invoice before a worker forks job processes, so each job starts with warm caches."""
from __future__ import annotations

import datetime as dt
import gc
import logging
import time
from decimal import Decimal

from documents.amounts import compute_totals
from documents.files import render_e_invoice
from documents.invoice import InvoiceDocument, Seller
from documents.labels import LABELS
from documents.pdf.render import load_page_label_stylesheet
from extraction.models import InvoiceFields

logger = logging.getLogger(__name__)


def build_sample_document(items: int = 5) -> InvoiceDocument:
    """A typical invoice (labour, material, travel) with `items` lines; no real person's data."""
    kinds = [("labor", "h", "58"), ("material", "piece", "129.90"), ("travel", "lump_sum", "35")]
    lines = [{"description": f"Position {n + 1}", "quantity": n % 3 + 1, "unit": kinds[n % 3][1],
              "unit_price": kinds[n % 3][2], "kind": kinds[n % 3][0]} for n in range(items)]
    fields = InvoiceFields.model_validate({"customer": {"name": "Muster Kunde", "street": "Musterweg 1",
                                                        "postal_code": "50667", "city": "Köln"}, "items": lines})
    customer = fields.customer
    assert customer is not None
    seller = Seller(company="Muster Handwerk GmbH", street="Werkstraße 5", postal_code="50667", city="Köln",
                    country="DE", tax_number="217/5937/0123", vat_id=None, iban="DE89370400440532013000",
                    bic="COBADEFFXXX", email="info@example.org", phone=None)
    today = dt.date.today()
    return InvoiceDocument(number="RE-0000", issue_date=today, service_date=today,
                           due_date=today + dt.timedelta(days=14), language="de", seller=seller, customer=customer,
                           job_title=None, notes=None, totals=compute_totals(fields, Decimal(19)))


def warm_up() -> float:
    """Render one sample e-invoice, then freeze what is loaded out of the GC's sight; returns the seconds."""
    started = time.perf_counter()
    render_e_invoice(build_sample_document())
    for language in LABELS:  # the sample is German; forked jobs in other languages find their labels parsed
        load_page_label_stylesheet(language)
    gc.collect()
    gc.freeze()  # forked jobs share these objects copy-on-write, and collections no longer walk them
    seconds = time.perf_counter() - started
    logger.info("renderer warmed up in %.0f ms", seconds * 1000)
    return seconds
