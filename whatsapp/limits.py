"""The Cloud API's limits of an interactive reply-button message, checked before sending.

Meta: body text 1-1024 characters; 1-3 buttons; a button title 1-20 characters, unique within the
message; a button id 1-256 characters, unique too; footer text at most 60 characters.
"""
from __future__ import annotations

from collections.abc import Sequence

from whatsapp import MessageInvalid

MAX_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_FOOTER = 60


def check_buttons(body: str, buttons: Sequence[tuple[str, str]], footer: str | None = None) -> None:
    """Raise MessageInvalid for the first limit the message breaks; buttons are (id, title) pairs."""
    _length("body", body, 1, MAX_BODY)
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise MessageInvalid("buttons", f"{len(buttons)} buttons, allowed 1 to {MAX_BUTTONS}", MAX_BUTTONS,
                             len(buttons))
    for button_id, title in buttons:
        _length("button_title", title, 1, MAX_BUTTON_TITLE)
        _length("button_id", button_id, 1, MAX_BUTTON_ID)
    for field, values in (("button_title", [t for _, t in buttons]), ("button_id", [i for i, _ in buttons])):
        duplicates = sorted({v for v in values if values.count(v) > 1})
        if duplicates:
            raise MessageInvalid(field, f"must be unique within the message, repeated: {duplicates!r}")
    if footer is not None:
        _length("footer", footer, 0, MAX_FOOTER)


def _length(field: str, value: str, minimum: int, maximum: int) -> None:
    if not minimum <= len(value) <= maximum:
        raise MessageInvalid(field, f"{len(value)} characters ({value[:30]!r}), allowed {minimum} to {maximum}",
                             maximum, len(value))
