"""Speech to text: the Transcriber interface, and the OpenAI SDK behind it; the audio stays in memory."""
from __future__ import annotations

import logging
from typing import Protocol

import openai

from extraction import TranscriptionFailed, is_permanent_status

logger = logging.getLogger(__name__)


class Transcriber(Protocol):
    """Speech to text for one voice note (OpenAI's API here, faster-whisper in extraction.local_whisper)."""

    def transcribe(self, audio: bytes, mime_type: str, language: str, vocabulary: str | None) -> str:
        """The transcript; raise TranscriptionFailed when no usable one comes. `vocabulary` prompts the model."""
        ...


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
    except openai.APIStatusError as exc:  # 400: a file the API cannot read (corrupt, empty, an unknown format)
        raise TranscriptionFailed(type(exc).__name__, is_permanent_status(exc.status_code), exc.status_code) from exc
    except openai.OpenAIError as exc:
        raise TranscriptionFailed(type(exc).__name__) from exc
    text = result.text.strip()
    if not text:
        raise TranscriptionFailed("empty transcript", permanent=True)  # nothing to hear: the same on every try
    logger.info("transcribed voice note (%d bytes audio, %d chars text)", len(audio), len(text))
    return text


class OpenAITranscriber:
    """A Transcriber through OpenAI's transcription API (`model`, e.g. whisper-1)."""

    def __init__(self, client: openai.OpenAI, model: str) -> None:
        self.client = client
        self.model = model

    def transcribe(self, audio: bytes, mime_type: str, language: str, vocabulary: str | None) -> str:
        return transcribe_audio(self.client, audio, mime_type, self.model, language, vocabulary)
