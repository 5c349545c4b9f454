"""Text messages: a typed code, the commands (HILFE, STATUS, ABBRECHEN, OK, STORNO, KONTO, DATEN, LÖSCHEN with JA/NEIN),
else words for a draft (a job, or a correction of an open draft), or the help for a short unknown text."""
from __future__ import annotations

import datetime as dt
import re

from accounts.onboarding import check_code
from accounts.otp import VerifyOutcome, open_challenge
from conversation.account_notices import deliver_notices
from conversation.choices import discard_chosen, send_status
from conversation.customer import looks_like_email, take_customer_email
from conversation.drafting import issue_chosen, take_words
from conversation.mail import send_mail
from conversation.replies import Claimed, reply
from conversation.storno import answer_storno
from conversation.storno_pdf import answer_storno_after_document
from conversation.texts import render_text
from documents.drafts import list_open_drafts
from services import Services
from store.links import create_login_link
from store.models import Outcome, Tenant, utcnow
from store.privacy import create_export_link, erase_content

CODE = re.compile(r"^\s*(\d{3})\s?(\d{3})\s*$")
ACCOUNT_COMMANDS = {"KONTO", "ACCOUNT"}
EXPORT_COMMANDS = {"DATEN", "EXPORT"}
DELETE_COMMANDS = {"LÖSCHEN", "LOESCHEN", "LOSCHEN", "DELETE"}
HELP_COMMANDS = {"HILFE", "HELP", "?"}
STATUS_COMMANDS = {"STATUS"}
CANCEL_COMMANDS = {"ABBRECHEN", "CANCEL", "STOPP", "STOP"}
YES, NO = {"JA", "YES", "J", "Y", "OK", "OKAY"}, {"NEIN", "NO", "N"}
SHORT_TEXT_WORDS = 4  # outside a draft, a text this short is no job: it gets the help
CONFIRM_WINDOW = dt.timedelta(minutes=10)
CODE_REPLIES = {VerifyOutcome.WRONG: "code_wrong", VerifyOutcome.EXPIRED: "code_expired",
                VerifyOutcome.LOCKED: "code_locked", VerifyOutcome.NO_CHALLENGE: "no_challenge",
                VerifyOutcome.NUMBER_TAKEN: "code_locked"}


def answer_text(services: Services, claimed: Claimed) -> Outcome:
    """Decide what a text message means and answer it."""
    text = (claimed.text or "").strip()
    code = CODE.match(text)
    if code and (not claimed.verified or has_open_challenge(services, claimed.tenant_id)):
        result = check_code(services, claimed.tenant_id, code.group(1) + code.group(2), actor="tenant")
        if result.outcome is not VerifyOutcome.VERIFIED:
            reply(services, claimed, CODE_REPLIES[result.outcome], remaining=result.remaining)
        deliver_notices(services, result.notices)  # a new IBAN: its notice is the answer
        return Outcome.VERIFIED if result.welcome_due else Outcome.CODE_CHECKED  # VERIFIED: the welcome job answers
    if not claimed.verified:
        reply(services, claimed, "no_challenge")
        return Outcome.HINT_SENT
    cancelled = answer_storno_after_document(services, claimed, text)  # a PDF, then STORNO
    if cancelled is None:
        cancelled = answer_storno(services, claimed, text)  # STORNO RE-2026-0042
    if cancelled is not None:
        return cancelled
    command = text.upper().rstrip(".!")
    if command in ACCOUNT_COMMANDS:
        send_account_link(services, claimed)
        return Outcome.ACCOUNT_LINK_SENT
    if command in EXPORT_COMMANDS:
        link = create_export_link(services.db, services.settings, claimed.tenant_id)
        reply(services, claimed, "export_link", link=link, hours=services.settings.export_hours)
        return Outcome.EXPORT_LINK_SENT
    if command in DELETE_COMMANDS or (command in YES | NO and deletion_asked(services, claimed.tenant_id)):
        return answer_deletion(services, claimed, command)
    if command in HELP_COMMANDS:
        reply(services, claimed, "help")
        return Outcome.HELP_SENT
    if command in STATUS_COMMANDS:
        return send_status(services, claimed)
    if command in CANCEL_COMMANDS:
        return discard_chosen(services, claimed)
    if command in YES:
        return issue_chosen(services, claimed)
    open_draft = has_open_draft(services, claimed.tenant_id)
    if looks_like_email(text) and not open_draft:  # with a draft open it is a correction (the model reads it)
        return take_customer_email(services, claimed, text)
    if len(text.split()) < SHORT_TEXT_WORDS and not open_draft:
        reply(services, claimed, "help")
        return Outcome.HELP_SENT
    return take_words(services, claimed, text)


def deletion_asked(services: Services, tenant_id: int) -> bool:
    """LÖSCHEN was sent in the last ten minutes: JA/NEIN answer it."""
    with services.db.session() as session:
        asked_at = session.get_one(Tenant, tenant_id).delete_requested_at
    return asked_at is not None and asked_at > utcnow() - CONFIRM_WINDOW


def has_open_challenge(services: Services, tenant_id: int) -> bool:
    """A code is awaited (a new IBAN, a new number): a verified tenant's six digits are that code."""
    with services.db.session() as session:
        return open_challenge(session, tenant_id) is not None


def has_open_draft(services: Services, tenant_id: int) -> bool:
    with services.db.session() as session:
        return bool(list_open_drafts(session, tenant_id))


def answer_deletion(services: Services, claimed: Claimed, command: str) -> Outcome:
    """LÖSCHEN asks first; JA within ten minutes deletes everything and answers with the receipt id."""
    now = utcnow()
    with services.db.session() as session:
        tenant = session.get_one(Tenant, claimed.tenant_id)
        asked = tenant.delete_requested_at is not None and tenant.delete_requested_at > now - CONFIRM_WINDOW
        tenant.delete_requested_at = now if command in DELETE_COMMANDS else None
    if command in DELETE_COMMANDS:
        reply(services, claimed, "delete_confirm")
        return Outcome.DELETION_ASKED
    if not asked:
        reply(services, claimed, "help")
        return Outcome.HELP_SENT
    if command in NO:
        reply(services, claimed, "delete_cancelled")
        return Outcome.DELETION_CANCELLED
    receipt = erase_content(services.db, services.cipher, claimed.tenant_id, actor="tenant")
    reply(services, claimed, "deleted", receipt=receipt.id, invoices=receipt.categories.get("invoice", 0),
          drafts=receipt.categories.get("draft", 0))
    return Outcome.CONTENT_DELETED


def send_account_link(services: Services, claimed: Claimed) -> None:
    """A single-use login link: by e-mail when SMTP_URL is set (the chat says where it went), else in the chat."""
    with services.db.session() as session:
        token = create_login_link(session, claimed.tenant_id)
        email = session.get_one(Tenant, claimed.tenant_id).email
    link = services.settings.public_url(f"/konto/login/{token}")
    s = services.settings
    if not s.smtp_url:
        reply(services, claimed, "account_link", link=link)
        return
    send_mail(s.smtp_url, s.mail_from, email, render_text("account_mail_subject", claimed.language),
              render_text("account_link", claimed.language, link=link), timeout=s.http_timeout)
    reply(services, claimed, "account_link_mailed", email=email)
