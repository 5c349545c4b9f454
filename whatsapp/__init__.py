"""WhatsApp Cloud API: webhook payload models and the Graph API client."""
from __future__ import annotations

import requests


class WhatsAppError(Exception):
    """Base error of the whatsapp package."""


# Meta's throttling codes come with HTTP 400 but say "try again later": throughput (130429), pair rate (131056),
# spam rate (131048), API call and account rate limits (4, 80007), registration rate (133016)
THROTTLING_CODES = frozenset({4, 80007, 130429, 131048, 131056, 133016})


class GraphError(WhatsAppError):
    """The Graph API answered with an error: the request was refused, nothing was sent."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"Graph API error {status} (code {code}): {message}")
        self.status = status
        self.code = code

    @property
    def permanent(self) -> bool:
        """Asking again cannot help: a 4xx other than 408 and 429 that is no throttling code."""
        return 400 <= self.status < 500 and self.status not in (408, 429) and self.code not in THROTTLING_CODES


class MediaUnavailable(GraphError):
    """A received media item could not be had (expired, deleted, unknown or too large)."""


class GraphUnreachable(WhatsAppError, requests.ConnectionError):
    """No connection to the Graph API could be made (after retries): the request was never sent. Also a requests
    ConnectionError, as callers that catch requests' errors expect."""


class SendUncertain(WhatsAppError, requests.RequestException):
    """A send whose outcome is unknown: the request went out, but the answer timed out, the connection broke, or a
    5xx other than 503 came back. WhatsApp may have accepted the message: settle it before sending again. Also a
    requests RequestException, as callers that catch requests' errors expect."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"send outcome unknown: {reason}")
        self.reason = reason


class NotConfigured(WhatsAppError):
    """WHATSAPP_TOKEN or WHATSAPP_PHONE_NUMBER_ID is empty: nothing was sent."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"WhatsApp is not configured: set {' and '.join(missing)}")
        self.missing = missing


class MessageInvalid(WhatsAppError):
    """An outgoing message breaks a Cloud API limit. Callers must fit the limits, so this is a programming
    error caught before sending; `field` names the part ("body", "buttons", "button_title", "button_id",
    "footer"), `limit` the bound broken and `actual` what was given (None where a count does not apply)."""

    def __init__(self, field: str, problem: str, limit: int | None = None, actual: int | None = None) -> None:
        super().__init__(f"invalid {field}: {problem}")
        self.field = field
        self.problem = problem
        self.limit = limit
        self.actual = actual
