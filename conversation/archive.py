"""The archive hand-off: each issued invoice (and Stornorechnung) e-mailed to the tenant's archive addresses before
its content is forgotten; when that fails for good, the tradesperson hears it in the chat."""
from __future__ import annotations

import datetime as dt
import enum
import logging

from conversation.invoice_mail import compose_archive_mail, summarise
from conversation.mail import send_mail, sender_as
from conversation.texts import render_text
from documents.labels import locale_of
from documents.pdf.formatting import format_day_in
from services import Services
from store import ContentGone
from store.archive import list_archive_addresses, mark_archived
from store.content import delete_invoice_content
from store.models import ArchiveState, DeletionTrigger, Invoice, Tenant, utcnow
from store.phones import TenantGone, open_phone

logger = logging.getLogger(__name__)


class CopyResult(str, enum.Enum):
    """What became of one archive copy."""

    SENT = "sent"
    SKIPPED = "skipped"  # not PENDING (any more)
    NO_ADDRESS = "no_address"  # the addresses were removed since the invoice was issued
    GONE = "gone"  # the content was deleted meanwhile
    UNCONFIGURED = "unconfigured"  # no SMTP_URL: no try can help, the copy is FAILED at once


def send_archive_copy(services: Services, invoice_id: str) -> CopyResult:
    """Mail the invoice to all its tenant's archive addresses (one mail) and mark it SENT once the server took it.
    Raises MailError when it did not (the job retries); returns what became of it."""
    s = services.settings
    with services.db.session() as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or invoice.archive_state is not ArchiveState.PENDING:
            return CopyResult.SKIPPED
        tenant = session.get_one(Tenant, invoice.tenant_id)
        addresses = list_archive_addresses(session, tenant.id)
        if not addresses:  # removed since the invoice was issued: nothing is due any more
            invoice.archive_state = None
            return CopyResult.NO_ADDRESS
        try:
            mail = compose_archive_mail(session, services.cipher, invoice, tenant)
        except ContentGone:  # deleted meanwhile (LÖSCHEN, offboarding, retention)
            return CopyResult.GONE
        company = tenant.company
    if not s.smtp_url:
        give_up_archive(services, invoice_id, unconfigured=True)
        return CopyResult.UNCONFIGURED
    send_mail(s.smtp_url, sender_as(s.mail_from, company), addresses, mail.subject, mail.body, timeout=s.http_timeout,
              attachments=mail.attachments)
    with services.db.session() as session:
        invoice = mark_archived(session, invoice_id, ArchiveState.SENT)
        grace = dt.timedelta(seconds=s.download_grace_seconds)
        if invoice.downloaded_at is not None and invoice.downloaded_at <= utcnow() - grace:  # it waited for this
            delete_invoice_content(session, services.cipher, invoice, DeletionTrigger.DOWNLOAD)
    logger.info("invoice %s: archive copy handed off (%d recipients)", invoice_id, len(addresses))
    return CopyResult.SENT


def give_up_archive(services: Services, invoice_id: str, unconfigured: bool) -> bool:
    """The tries are spent: mark the copy FAILED (the content stays until retention). True when it was PENDING, so
    the tradesperson is told once."""
    with services.db.session() as session:
        invoice = session.get(Invoice, invoice_id, with_for_update=True)
        if invoice is None or invoice.archive_state is not ArchiveState.PENDING:
            return False
        mark_archived(session, invoice_id, ArchiveState.FAILED)
    logger.error("invoice %s: archive copy failed for good (%s)", invoice_id,
                 "no SMTP_URL" if unconfigured else "mail server")
    return True


def tell_archive_failed(services: Services, invoice_id: str, unconfigured: bool) -> bool:
    """Say in the chat which invoice's archive copy failed and until when we keep it; False when nothing to say."""
    with services.db.session() as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or invoice.archive_state is not ArchiveState.FAILED:
            return False
        tenant = session.get_one(Tenant, invoice.tenant_id)
        language = tenant.language
        try:
            summary = summarise(session, services.cipher, invoice, tenant)
            phone = open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac)
        except (ContentGone, TenantGone):  # deleted or offboarded meanwhile: nobody left to tell
            return False
        until = format_day_in(invoice.expires_at.date(), locale_of(language))
    reason = render_text("archive_reason_unconfigured" if unconfigured else "archive_reason_unreachable", language)
    services.whatsapp.send_text(phone, render_text("archive_failed", language, number=summary.number,
                                                   customer=summary.customer, reason=reason, date=until))
    return True
