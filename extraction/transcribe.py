"""Speech to text through the OpenAI SDK; the audio stays in memory."""
from __future__ import annotations

import logging

import openai

from extraction import TranscriptionFailed

logger = logging.getLogger(__name__)

EXTENSIONS = {"audio/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/aac": "aac", "audio/amr": "amr"}


def transcribe_audio(client: openai.OpenAI, audio: bytes, mime_type: str, model: str, language: str,
                     vocabulary: str | None = None) -> str:
    """Return the transcript; raise TranscriptionFailed when the service fails or hears nothing."""
    base_mime = mime_type.split(";")[0].strip()
    name = f"voice.{EXTENSIONS.get(base_mime, 'ogg')}"
    try:
        result = client.audio.transcriptions.create(
            model=model, file=(name, audio, base_mime), language=language, prompt=vocabulary or openai.omit,
        )
    except openai.OpenAIError as exc:
        raise TranscriptionFailed(type(exc).__name__) from exc
    text = result.text.strip()
    if not text:
        raise TranscriptionFailed("empty transcript")
    logger.info("transcribed voice note (%d bytes audio, %d chars text)", len(audio), len(text))
    return text
