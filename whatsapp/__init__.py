"""WhatsApp Cloud API: webhook payload models and the Graph API client."""


class WhatsAppError(Exception):
    """Base error of the whatsapp package."""


class GraphError(WhatsAppError):
    """The Graph API answered with an error."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(f"Graph API error {status} (code {code}): {message}")
        self.status = status
        self.code = code
