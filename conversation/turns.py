"""One conversation turn: what an inbound message is (a button press, a text, a voice note, a document) and its one
answer."""
from __future__ import annotations

import logging

from accounts.pricelist import catalogue_of
from conversation.choices import press_button, repeat_turn
from conversation.commands import answer_text
from conversation.drafting import decline_unconfigured, take_words
from conversation.replies import Claimed, reply
from conversation.storno import answer_storno
from conversation.storno_pdf import answer_document
from extraction import check_audio_type, describe_missing_backend
from services import Services
from store.models import MessageKind, Outcome

logger = logging.getLogger(__name__)

VOCABULARY_CHARS = 800  # Whisper's prompt takes about 224 tokens


def answer_message(services: Services, claimed: Claimed) -> Outcome:
    """A button press, a text (command or words) or a voice note: each ends in one answer."""
    if claimed.kind is MessageKind.BUTTON:
        return press_button(services, claimed)
    voice = claimed.kind in (MessageKind.VOICE, MessageKind.AUDIO) and bool(claimed.media_id)
    document = claimed.kind is MessageKind.DOCUMENT and bool(claimed.media_id)
    if not (voice or document) and claimed.kind is not MessageKind.TEXT:
        reply(services, claimed, "help")
        return Outcome.HELP_SENT
    repeated = repeat_turn(services, claimed)
    if repeated is not None:
        return repeated
    if document:  # an invoice's PDF sent back for a Storno
        return answer_document(services, claimed)
    if not voice:
        return answer_text(services, claimed)
    hint = describe_missing_backend(services.settings)
    if hint is not None:  # nothing could read the words: the audio goes nowhere
        return decline_unconfigured(services, claimed, hint)
    words = transcribe(services, claimed)
    cancelled = answer_storno(services, claimed, words)  # "Storno Rechnung RE-2026-0042", said
    return cancelled if cancelled is not None else take_words(services, claimed, words)


def transcribe(services: Services, claimed: Claimed) -> str:
    """The voice note's words; the audio lives in this function's memory only. Price-list names are vocabulary."""
    audio, mime_type = services.whatsapp.download_media(claimed.media_id or "")
    check_audio_type(mime_type)  # anything else is refused at once (AudioUnsupported), not retried
    with services.db.session() as session:
        names = [entry.description for entry in catalogue_of(session, claimed.tenant_id)]
    vocabulary = ", ".join(filter(None, [claimed.vocabulary, *names]))[:VOCABULARY_CHARS] or None
    return services.transcriber.transcribe(audio, mime_type, claimed.language, vocabulary)
