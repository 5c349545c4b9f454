"""Security notices of account changes: a new WhatsApp number (to the old number), a new IBAN asked for and
applied (to the verified number); each also by e-mail when SMTP_URL is set. German, English per tenant."""
from __future__ import annotations

import logging
from collections.abc import Iterable

import requests
from sqlalchemy import delete

from conversation.mail import MailError, send_mail
from services import Services
from store.models import AccountNotice, Tenant, utcnow
from store.phones import open_phone
from whatsapp import WhatsAppError

logger = logging.getLogger(__name__)

NOTICE_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "subject": "Sicherheitshinweis zu deinem Sprachrechnung-Konto",
        "number_changed": "🔒 Sicherheitshinweis: Die WhatsApp-Nummer des Sprachrechnung-Kontos von {company} wurde "
                          "gerade geändert. Nachrichten von dieser Nummer verarbeiten wir nicht mehr.\n\n"
                          "Warst du das nicht? Dann melde dich bitte sofort beim Support: {support}",
        "bank_requested": "🔒 Sicherheitshinweis: Für das Sprachrechnung-Konto von {company} wurde eine neue IBAN für "
                          "deine Rechnungen angegeben: {iban}. Sie gilt erst, wenn der Code bestätigt wird, den wir "
                          "dir gerade per WhatsApp geschickt haben (10 Minuten gültig); bis dahin nennen deine "
                          "Rechnungen die bisherige IBAN. Gib den Code nur ein oder weiter, wenn du die Änderung "
                          "selbst veranlasst hast.\n\n"
                          "Warst du das nicht? Dann melde dich bitte beim Support: {support}",
        "bank_changed": "🔒 Sicherheitshinweis: Die IBAN auf den Rechnungen von {company} ist jetzt {iban}. "
                        "Neue Rechnungen nennen dieses Konto.\n\n"
                        "Warst du das nicht? Dann melde dich bitte sofort beim Support: {support}",
    },
    "en": {
        "subject": "Security notice about your Sprachrechnung account",
        "number_changed": "🔒 Security notice: the WhatsApp number of {company}'s Sprachrechnung account has just "
                          "been changed. Messages from this number are no longer processed.\n\n"
                          "If this was not you, please contact support at once: {support}",
        "bank_requested": "🔒 Security notice: a new IBAN for the invoices of {company}'s Sprachrechnung account was "
                          "entered: {iban}. It applies only once the code we have just sent you via WhatsApp is "
                          "confirmed (valid for 10 minutes); until then your invoices name the previous IBAN. Enter "
                          "or pass on the code only if you asked for this change yourself.\n\n"
                          "If this was not you, please contact support: {support}",
        "bank_changed": "🔒 Security notice: the IBAN on {company}'s invoices is now {iban}. New invoices name this "
                        "account.\n\n"
                        "If this was not you, please contact support at once: {support}",
    },
}


def render_notice(key: str, language: str, **values: object) -> str:
    return NOTICE_TEXTS.get(language, NOTICE_TEXTS["de"])[key].format(**values)


def send_account_notice(services: Services, notice_id: int) -> bool:
    """Send one notice: the WhatsApp text (recorded, so a retry does not repeat it), then the mail when SMTP_URL
    is set; the row goes once both are done. False when there is nothing (left) to send."""
    s = services.settings
    with services.db.session() as session:
        notice = session.get(AccountNotice, notice_id)
        tenant = session.get(Tenant, notice.tenant_id) if notice is not None else None
        if notice is None or tenant is None or tenant.offboarded_at is not None or tenant.phone_sealed is None:
            session.execute(delete(AccountNotice).where(AccountNotice.id == notice_id))
            return False
        if notice.phone_sealed is not None and notice.phone_hmac is not None:  # the old number
            phone = open_phone(services.cipher, notice.phone_sealed, notice.phone_hmac)
        else:
            phone = open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac)
        email, texted, language = notice.email, notice.texted_at is not None, tenant.language
        text = render_notice(notice.event, language, company=tenant.company, iban=notice.detail or "",
                             support=s.support_contact)
    if not texted:
        services.whatsapp.send_text(phone, text)
        with services.db.session() as session:
            session.get_one(AccountNotice, notice_id).texted_at = utcnow()
    if s.smtp_url and email:
        send_mail(s.smtp_url, s.mail_from, email, render_notice("subject", language), text, timeout=s.http_timeout)
    with services.db.session() as session:
        session.execute(delete(AccountNotice).where(AccountNotice.id == notice_id))
    return True


def deliver_notices(services: Services, notice_ids: Iterable[int]) -> None:
    """Send notices now, inside a job that must not fail for them (the chat's code check): a failure is logged,
    and the row stays until the sweep drops it."""
    for notice_id in notice_ids:
        try:
            send_account_notice(services, notice_id)
        except (WhatsAppError, requests.RequestException, MailError) as exc:
            logger.warning("security notice %s not sent: %s", notice_id, type(exc).__name__)
