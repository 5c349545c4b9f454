"""Transcription and field extraction: voice note -> transcript -> InvoiceFields."""
from __future__ import annotations

from settings import Settings

MISSING_KEYS = {"", "unset"}  # ANTHROPIC_API_KEY defaults to "unset"


INPUT_STATUSES = frozenset({400, 413, 415, 422})  # an API's answers that say the input itself is unusable


def is_permanent_status(status: int | None) -> bool:
    """An API's HTTP status that asking again cannot change: a 4xx other than 408 (timeout), 409 (conflict) and
    429 (rate limit), which the SDKs retry themselves."""
    return status is not None and 400 <= status < 500 and status not in (408, 409, 429)


class ExtractionError(Exception):
    """Base error of the extraction package. `permanent`: another try cannot help (the input or the request was
    refused for good); `status`: the HTTP status of the API that refused it, when one did."""

    permanent: bool = False
    status: int | None = None


class TranscriptionFailed(ExtractionError):
    """The speech-to-text service gave no usable transcript. Permanent when the audio itself is unusable (empty,
    corrupt, nothing heard, a format no decoder reads) or the API refused the request for good."""

    def __init__(self, reason: str, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(f"transcription failed: {reason}")
        self.reason = reason
        self.permanent = permanent
        self.status = status


class AudioUnsupported(TranscriptionFailed):
    """The media is no audio (its MIME type): nothing to transcribe, on any try."""

    def __init__(self, mime_type: str) -> None:
        super().__init__(f"not audio ({mime_type})", permanent=True)
        self.mime_type = mime_type


def check_audio_type(mime_type: str) -> None:
    """Raise AudioUnsupported unless the MIME type names audio (voice notes are audio/ogg; codecs=opus)."""
    if not mime_type.split(";")[0].strip().lower().startswith("audio/"):
        raise AudioUnsupported(mime_type.split(";")[0].strip()[:60])


class FieldsInvalid(ExtractionError):
    """The model's fields did not pass validation, even after one retry."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("extracted fields invalid: " + "; ".join(errors))
        self.errors = errors


class ExtractionUnconfigured(ExtractionError):
    """No extraction backend is configured: nothing was sent anywhere. `hint` names the variable to set."""

    def __init__(self, hint: str) -> None:
        super().__init__(f"no extraction backend: {hint}")
        self.hint = hint


def describe_missing_backend(settings: Settings) -> str | None:
    """None when the configured extraction backend can be called; else which variable to set (no secrets)."""
    if settings.extract_backend == "openai":
        missing = [name for name, value in (("EXTRACT_BASE_URL", settings.extract_base_url),
                                            ("EXTRACT_API_KEY", settings.extract_api_key))
                   if (value or "").strip() in MISSING_KEYS]
        if not missing:
            return None
        verb = "is" if len(missing) == 1 else "are"
        return f"EXTRACT_BACKEND=openai, but {' and '.join(missing)} {verb} not set"
    if settings.anthropic_api_key.strip() not in MISSING_KEYS:
        return None
    return ("ANTHROPIC_API_KEY is not set (or set EXTRACT_BACKEND=openai with EXTRACT_BASE_URL and "
            "EXTRACT_API_KEY for an OpenAI-compatible endpoint)")
