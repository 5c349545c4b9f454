"""What an issued invoice's mails hold: the archive copy (PDF/A-3, its XML, the XRechnung) and the mail to the
customer (the PDF, the XRechnung for a public-sector customer). Built from sealed content, in memory only."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from conversation.mail import Attachment
from conversation.texts import render_text
from documents.einvoice.embedded import read_embedded_xml
from documents.issuing import summary_of
from documents.labels import locale_of
from documents.pdf.formatting import format_day_in, format_money
from extraction.models import InvoiceFields
from store.content import list_categories, open_content
from store.crypto import ContentCipher
from store.models import Invoice, Tenant

CUSTOMER_EMAIL = "customer_email"  # sealed category: an address typed into the chat after the invoice


@dataclass(frozen=True)
class Summary:
    number: str
    issued: dt.date
    customer: str
    gross: Decimal  # negative on a Stornorechnung
    cancellation: bool


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str
    attachments: list[Attachment]


def summarise(session: Session, cipher: ContentCipher, invoice: Invoice, tenant: Tenant) -> Summary:
    """Number, issue date, customer and gross of an issued invoice; ContentGone once its content is deleted."""
    gross, customer = summary_of(open_content(session, cipher, invoice.id, "fields"), tenant)
    cancellation = invoice.cancels_id is not None
    return Summary(invoice.number or "", (invoice.issued_at or invoice.created_at).date(), customer,
                   -gross if cancellation else gross, cancellation)


def file_stem(number: str, cancellation: bool) -> str:
    return ("Stornorechnung-" if cancellation else "Rechnung-") + number.replace("/", "-")


def collect_documents(session: Session, cipher: ContentCipher, invoice: Invoice, summary: Summary,
                      with_xml: bool) -> list[Attachment]:
    """The PDF/A-3; with `with_xml` its embedded XML as a file too; the XRechnung where there is one."""
    stem = file_stem(summary.number, summary.cancellation)
    pdf = open_content(session, cipher, invoice.id, "pdf")
    files = [Attachment(f"{stem}.pdf", pdf, "application/pdf")]
    categories = list_categories(session, invoice.id)
    if with_xml:
        xml = open_content(session, cipher, invoice.id, "xml") if "xml" in categories else read_embedded_xml(pdf)
        if xml:
            files.append(Attachment(f"{stem}-factur-x.xml", xml, "application/xml"))
    if "xrechnung" in categories:
        files.append(Attachment(f"{stem}-XRechnung.xml", open_content(session, cipher, invoice.id, "xrechnung"),
                                "application/xml"))
    return files


def has_xrechnung(files: list[Attachment]) -> bool:
    return any(file.filename.endswith("-XRechnung.xml") for file in files)


def compose_archive_mail(session: Session, cipher: ContentCipher, invoice: Invoice, tenant: Tenant) -> Mail:
    """Subject sortable by number, date (ISO), customer, gross; all documents attached."""
    language = tenant.language
    summary = summarise(session, cipher, invoice, tenant)
    files = collect_documents(session, cipher, invoice, summary, with_xml=True)
    title = render_text("archive_title_cancellation" if summary.cancellation else "archive_title", language)
    gross = format_money(summary.gross, locale_of(language))
    xrechnung = render_text("archive_with_xrechnung", language) if has_xrechnung(files) else ""
    subject = render_text("archive_subject", language, title=title, number=summary.number,
                          date=summary.issued.isoformat(), customer=summary.customer, gross=gross)
    body = render_text("archive_body", language, title=title, number=summary.number, date=summary.issued.isoformat(),
                       customer=summary.customer, gross=gross, xrechnung=xrechnung, company=tenant.company)
    return Mail(" ".join(subject.split()), body, files)


def compose_customer_mail(session: Session, cipher: ContentCipher, invoice: Invoice, tenant: Tenant) -> Mail:
    """A short cover text in the tenant's language, the PDF, and the XRechnung for a public-sector customer."""
    language = tenant.language
    locale = locale_of(language)
    summary = summarise(session, cipher, invoice, tenant)
    files = collect_documents(session, cipher, invoice, summary, with_xml=False)
    xrechnung = render_text("customer_with_xrechnung", language) if has_xrechnung(files) else ""
    subject = render_text("customer_subject", language, number=summary.number, company=tenant.company)
    body = render_text("customer_body", language, number=summary.number, date=format_day_in(summary.issued, locale),
                       gross=format_money(summary.gross, locale), xrechnung=xrechnung, company=tenant.company)
    return Mail(" ".join(subject.split()), body, files)


def find_customer_email(session: Session, cipher: ContentCipher, invoice_id: str) -> str | None:
    """The customer's address: typed into the chat later, else said in the voice note; None when unknown or gone."""
    categories = list_categories(session, invoice_id)
    if CUSTOMER_EMAIL in categories:
        return open_content(session, cipher, invoice_id, CUSTOMER_EMAIL).decode()
    if "fields" not in categories:
        return None
    fields = InvoiceFields.model_validate_json(open_content(session, cipher, invoice_id, "fields"))
    return fields.customer.email if fields.customer and fields.customer.email else None
