"""The invoice-ready message: the link, the §14b reminder for a tenant without archive address (once a week at
most), and the "An Kunden senden" button when the customer's e-mail address is known."""
from __future__ import annotations

from decimal import Decimal

from accounts.profiles import is_valid_email
from conversation.invoice_mail import find_customer_email
from conversation.outbox import deliver
from conversation.replies import Claimed, send_plain
from conversation.texts import render_text
from documents.labels import locale_of
from documents.pdf.formatting import format_money
from services import Services
from store.archive import reminder_due
from store.models import Invoice, Tenant, utcnow

SEND_PREFIX = "invoice:send:"  # the button id: invoice:send:<invoice id>


def send_button_id(invoice_id: str) -> str:
    return f"{SEND_PREFIX}{invoice_id}"


def parse_send_button(value: str | None) -> str | None:
    """The invoice id of a pressed "An Kunden senden", None for any other button."""
    if not value or not value.startswith(SEND_PREFIX) or len(value) == len(SEND_PREFIX):
        return None
    return value[len(SEND_PREFIX):]


def offer_to_send(services: Services, claimed: Claimed, text: str, invoice_id: str) -> None:
    """The turn's answer with the one button "An Kunden senden" (sent at most once)."""
    button = [(send_button_id(invoice_id), render_text("button_send_customer", claimed.language))]
    deliver(services, claimed.inbound_id, lambda callback: services.whatsapp.send_buttons(
        claimed.phone, text, button, callback_data=callback))


def send_invoice_ready(services: Services, claimed: Claimed, invoice_id: str, number: str, customer: str,
                       gross: Decimal, token: str) -> None:
    """The link; the reminder to keep the PDF when no archive copy is due (once a week); the offer to e-mail the
    customer when the address is known and it has not gone yet."""
    language = claimed.language
    now = utcnow()
    with services.db.session() as session:
        invoice = session.get_one(Invoice, invoice_id)
        tenant = session.get_one(Tenant, claimed.tenant_id)
        remind = invoice.archive_state is None and reminder_due(tenant.archive_reminded_at, now)
        email = None if invoice.customer_mailed_at else find_customer_email(session, services.cipher, invoice_id)
    text = render_text("invoice_ready", language, number=number, customer=customer,
                       gross=format_money(gross, locale_of(language)),
                       link=services.settings.public_url(f"/d/{token}"), days=services.settings.link_days)
    if remind:
        text += "\n\n" + render_text("archive_reminder", language)
    if email and is_valid_email(email):  # a garbled one gets no button: typing the address fixes it
        offer_to_send(services, claimed, text + "\n\n" + render_text("customer_offer", language, customer=customer,
                                                                     email=email), invoice_id)
    else:
        send_plain(services, claimed, text, preview_url=True)
    if remind:
        with services.db.session() as session:
            session.get_one(Tenant, claimed.tenant_id).archive_reminded_at = now
