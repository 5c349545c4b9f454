"""Transcription and field extraction: voice note -> transcript -> InvoiceFields."""


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
