"""Transcription and field extraction: voice note -> transcript -> InvoiceFields."""
from __future__ import annotations

from settings import Settings

MISSING_KEYS = {"", "unset"}  # ANTHROPIC_API_KEY defaults to "unset"


class ExtractionError(Exception):
    """Base error of the extraction package."""


class TranscriptionFailed(ExtractionError):
    """The speech-to-text service gave no usable transcript."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"transcription failed: {reason}")
        self.reason = reason


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
