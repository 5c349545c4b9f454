"""Send to the customer: "An Kunden senden" e-mails an issued invoice in the tenant's name (From display name the
business, Reply-To its address); an address typed into the chat after the invoice is kept with its sealed content."""
from __future__ import annotations

import logging
from email.headerregistry import Address

from sqlalchemy import select

from accounts.profiles import is_valid_email
from conversation.invoice_mail import CUSTOMER_EMAIL, compose_customer_mail, find_customer_email, summarise
from conversation.mail import MailError, send_mail, sender_as
from conversation.ready import offer_to_send
from conversation.replies import Claimed, reply
from conversation.texts import render_text
from services import Services
from store import ContentGone
from store.content import reseal_contents
from store.models import Invoice, InvoiceState, Outcome, Tenant, utcnow

logger = logging.getLogger(__name__)

MAX_EMAIL = 254


def looks_like_email(text: str) -> bool:
    """One word with an @: meant as an e-mail address (checked properly before use)."""
    return "@" in text and len(text.split()) == 1 and len(text) <= MAX_EMAIL


def send_to_customer(services: Services, claimed: Claimed, invoice_id: str) -> Outcome:
    """The pressed button: e-mail the invoice to its customer, or say clearly why not (nothing changes then)."""
    s = services.settings
    with services.db.session() as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or invoice.tenant_id != claimed.tenant_id or invoice.number is None:
            reply(services, claimed, "customer_unknown")
            return Outcome.CUSTOMER_MAIL_REFUSED
        number, mailed = invoice.number, invoice.customer_mailed_at is not None
        tenant = session.get_one(Tenant, claimed.tenant_id)
        try:
            email = find_customer_email(session, services.cipher, invoice_id)
            mail = compose_customer_mail(session, services.cipher, invoice, tenant)
        except ContentGone:
            email, mail = None, None
        company, tenant_email = tenant.company, tenant.email
    if mailed:
        reply(services, claimed, "customer_already_sent", number=number)
        return Outcome.CUSTOMER_MAILED
    if mail is None or not s.smtp_url or not email or not is_valid_email(email):
        problem = ("customer_gone" if mail is None else "mail_unconfigured" if not s.smtp_url
                   else "customer_no_address" if not email else "email_invalid")
        reply(services, claimed, problem, number=number, email=email or "", support=s.support_contact)
        return Outcome.CUSTOMER_MAIL_REFUSED
    reply_to = str(Address(display_name=company, addr_spec=tenant_email))
    try:
        send_mail(s.smtp_url, sender_as(s.mail_from, company), email, mail.subject, mail.body,
                  timeout=s.http_timeout, attachments=mail.attachments, reply_to=reply_to)
    except MailError:
        if claimed.attempt <= s.job_retries:  # tries left: the turn is tried again (RQ's Retry)
            raise
        logger.warning("inbound %s: the customer mail failed on the last try", claimed.inbound_id)
        reply(services, claimed, "customer_mail_failed", number=number)
        return Outcome.CUSTOMER_MAIL_REFUSED
    with services.db.session() as session:
        session.get_one(Invoice, invoice_id).customer_mailed_at = utcnow()
    reply(services, claimed, "customer_sent", number=number, email=email, reply_to=tenant_email)
    return Outcome.CUSTOMER_MAILED


def take_customer_email(services: Services, claimed: Claimed, text: str) -> Outcome:
    """An e-mail address typed after the invoice: kept (sealed) with the newest invoice whose content is still
    here, which is then offered for sending; an invalid address or no such invoice changes nothing."""
    email = text.strip()
    if not is_valid_email(email):
        reply(services, claimed, "email_invalid", email=email)
        return Outcome.CUSTOMER_MAIL_REFUSED
    with services.db.session() as session:
        invoice = session.scalar(select(Invoice).where(
            Invoice.tenant_id == claimed.tenant_id, Invoice.number.is_not(None), Invoice.cancels_id.is_(None),
            Invoice.state.in_([InvoiceState.ISSUED, InvoiceState.DOWNLOADED]), Invoice.deleted_at.is_(None))
            .order_by(Invoice.issued_at.desc()).limit(1))
        if invoice is None:
            summary = None
        else:
            tenant = session.get_one(Tenant, claimed.tenant_id)
            summary = summarise(session, services.cipher, invoice, tenant)
            reseal_contents(session, services.cipher, invoice.id, {CUSTOMER_EMAIL: email.encode()})
            invoice.customer_mailed_at = None  # a new address: it may go (again) to this one
            invoice_id = invoice.id
    if summary is None:
        reply(services, claimed, "email_no_invoice")
        return Outcome.CUSTOMER_MAIL_REFUSED
    text = render_text("email_saved", claimed.language, email=email, number=summary.number, customer=summary.customer)
    offer_to_send(services, claimed, text, invoice_id)
    return Outcome.EMAIL_SAVED
