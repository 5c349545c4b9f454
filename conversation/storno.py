"""STORNO: a typed or spoken cancellation of an issued invoice. The answer is the Stornorechnung's link and, in the
same turn, the corrected invoice as a new draft (which then goes through the usual corrections and "Erstellen")."""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from conversation.drafting import show_draft
from conversation.outbox import deliver
from conversation.replies import Claimed, reply
from conversation.texts import render_text
from documents.amounts import Filled
from documents.cancellation import (
    Cancellation,
    CancellationRefused,
    Refusal,
    cancel_invoice,
    find_cancellation,
    renew_link,
)
from documents.labels import locale_of
from documents.pdf.formatting import format_day_in, format_money
from services import Services
from store.models import Invoice, Outcome

logger = logging.getLogger(__name__)

# "STORNO RE-2026-0042", "Storno Rechnung RE-…", "storniere RE-…", "Bitte stornier die Rechnung …": the word within
# the first four of the message (a transcript too: the command is found before the words go to the model)
COMMAND = re.compile(r"^\W*(?:[\w-]+\W+){0,3}?(?:storno|stornier\w*)\b", re.IGNORECASE)
SLOT = "cancellation"  # the outbox slot of the Stornorechnung's link; the draft is the turn's answer
REFUSALS = {Refusal.NO_NUMBER: "storno_no_number", Refusal.UNKNOWN: "storno_unknown",
            Refusal.ALREADY_CANCELLED: "storno_already_cancelled", Refusal.IS_CANCELLATION: "storno_of_cancellation",
            Refusal.CONTENT_GONE: "storno_send_pdf", Refusal.TERMS_CHANGED: "storno_terms_changed"}


def storno_words(words: str) -> str | None:
    """The words after the STORNO command (which should name the invoice), or None when the words are no STORNO."""
    match = COMMAND.match(words.strip())
    return words.strip()[match.end():] if match else None


def answer_storno(services: Services, claimed: Claimed, words: str) -> Outcome | None:
    """Cancel the invoice the words name, if they are a STORNO command; None when they are not (a job, a correction)."""
    rest = storno_words(words)
    if rest is None:
        return None
    return settle_cancellation(services, claimed, REFUSALS, lambda session: cancel_invoice(
        session, services.cipher, services.settings, claimed.tenant_id, claimed.inbound_id, rest, dt.date.today()))


def settle_cancellation(services: Services, claimed: Claimed, refusals: dict[Refusal, str],
                        cancel: Callable[[Session], Cancellation]) -> Outcome:
    """Run `cancel` in one transaction and answer: the refusal (text key from `refusals`), or the Stornorechnung's
    link and the corrected draft."""
    try:
        with services.db.session() as session:
            cancellation = cancel(session)
    except CancellationRefused as exc:
        logger.info("inbound %s: cancellation refused (%s)", claimed.inbound_id, exc.refusal.value)
        reply(services, claimed, refusals[exc.refusal], number=exc.number or "")
        return Outcome.CANCELLATION_REFUSED
    services.db.checkpoint()
    return announce_cancellation(services, claimed, cancellation)


def repeat_cancellation(services: Services, claimed: Claimed, cancellation: Invoice) -> Outcome:
    """A retried turn that had issued a Stornorechnung: its link and the corrected draft, each unless sent already."""
    with services.db.session() as session:
        found = find_cancellation(session, services.cipher, cancellation, claimed.inbound_id)
    return announce_cancellation(services, claimed, found)


def announce_cancellation(services: Services, claimed: Claimed, cancellation: Cancellation) -> Outcome:
    """The Stornorechnung's link (a fresh one when a retry sends it), then the corrected invoice's draft."""
    language = claimed.language
    locale = locale_of(language)

    def send(callback: str) -> str:
        token = cancellation.token
        if token is None:
            with services.db.session() as session:
                token = renew_link(session, services.settings, cancellation.cancellation_id)
        text = render_text("cancellation_ready", language, number=cancellation.number,
                           cancelled=cancellation.cancelled_number,
                           date=format_day_in(cancellation.cancelled_date, locale),
                           customer=cancellation.customer_name, gross=format_money(cancellation.gross, locale),
                           link=services.settings.public_url(f"/d/{token}"), days=services.settings.link_days)
        if cancellation.draft_id is not None:
            text += "\n\n" + render_text("cancellation_draft", language, cancelled=cancellation.cancelled_number)
        return services.whatsapp.send_text(claimed.phone, text, preview_url=True, callback_data=callback)

    deliver(services, claimed.inbound_id, send, slot=SLOT)
    if cancellation.draft_id is None or cancellation.draft_fields is None:
        return Outcome.CANCELLATION_ISSUED
    filled = Filled(cancellation.draft_fields, [], [])
    return show_draft(services, claimed, cancellation.draft_id, filled, Outcome.CANCELLATION_ISSUED)
