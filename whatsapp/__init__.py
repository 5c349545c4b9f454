"""WhatsApp Cloud API: webhook payload models and the Graph API client."""


class WhatsAppError(Exception):
    """Base error of the whatsapp package."""


class GraphError(WhatsAppError):
    """The Graph API answered with an error."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"Graph API error {status} (code {code}): {message}")
        self.status = status
        self.code = code


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
