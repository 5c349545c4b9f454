"""STORNO from a returned PDF: once an invoice's content is deleted, the tradesperson sends its PDF back, as a
document with the caption "Storno", or a document and then the text STORNO. The PDF is downloaded into this job's
memory only (like a voice note) and never stored; what is kept between the two messages is the document's media id
(Meta's, no content) on its message row, for DOCUMENT_WINDOW at most.
"""
from __future__ import annotations

import datetime as dt
import logging
import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from conversation.replies import Claimed, reply
from conversation.storno import REFUSALS, settle_cancellation, storno_words
from documents.cancellation import Refusal
from documents.returned import cancel_returned
from services import Services
from store.models import InboundMessage, InboundState, MessageKind, Outcome, utcnow

logger = logging.getLogger(__name__)

DOCUMENT_WINDOW = dt.timedelta(minutes=10)  # how long a document without caption waits for a STORNO
PDF_REFUSALS = {**REFUSALS, Refusal.UNKNOWN: "storno_pdf_unknown", Refusal.NOT_PDF: "storno_not_pdf",
                Refusal.NO_EINVOICE: "storno_no_einvoice", Refusal.FOREIGN: "storno_foreign",
                Refusal.ALTERED: "storno_altered"}


def answer_document(services: Services, claimed: Claimed) -> Outcome:
    """A document: with the caption "Storno" the PDF is cancelled; otherwise the bot says what it does with
    documents, and keeps the media id a few minutes for a STORNO that follows."""
    if storno_words(claimed.text or "") is None:
        reply(services, claimed, "document_help")
        return Outcome.DOCUMENT_EXPLAINED
    return cancel_document(services, claimed, claimed.media_id or "", claimed.text or "")


def answer_storno_after_document(services: Services, claimed: Claimed, text: str) -> Outcome | None:
    """A STORNO without a number right after a document cancels that document's PDF; None otherwise."""
    rest = storno_words(text)
    if rest is None or re.search(r"\d", rest):
        return None
    media_id = claimed.media_id or take_held_document(services, claimed)  # a retried turn has it on its own row
    return cancel_document(services, claimed, media_id, text) if media_id else None


def take_held_document(services: Services, claimed: Claimed) -> str | None:
    """The media id of the document the tenant sent just before this message (within DOCUMENT_WINDOW), moved to this
    message's row: used once, and there for a retry of this turn."""
    with services.db.session() as session:
        previous = session.scalar(select(InboundMessage).where(
            InboundMessage.tenant_id == claimed.tenant_id, InboundMessage.id < claimed.inbound_id)
            .order_by(InboundMessage.id.desc()).limit(1).with_for_update())
        if (previous is None or previous.kind is not MessageKind.DOCUMENT or previous.media_id is None
                or previous.received_at < utcnow() - DOCUMENT_WINDOW):
            return None
        media_id, previous.media_id = previous.media_id, None
        session.get_one(InboundMessage, claimed.inbound_id).media_id = media_id
        return media_id


def cancel_document(services: Services, claimed: Claimed, media_id: str, words: str) -> Outcome:
    """Download the PDF into memory, cancel the invoice it is, and announce it as a typed STORNO is announced."""
    pdf, _ = services.whatsapp.download_media(media_id)  # the bytes decide what it is, not the stated type
    return settle_cancellation(services, claimed, PDF_REFUSALS, lambda session: cancel_returned(
        session, services.cipher, services.settings, claimed.tenant_id, claimed.inbound_id, pdf, words,
        dt.date.today()))


def forget_held_documents(session: Session, now: dt.datetime) -> None:
    """Drop the media ids of documents that waited longer than DOCUMENT_WINDOW for a STORNO (the retention sweep)."""
    session.execute(update(InboundMessage).where(
        InboundMessage.kind == MessageKind.DOCUMENT, InboundMessage.media_id.is_not(None),
        InboundMessage.state == InboundState.DONE, InboundMessage.received_at < now - DOCUMENT_WINDOW)
        .values(media_id=None))
