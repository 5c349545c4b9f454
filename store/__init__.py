"""Persistence and encryption: SQLAlchemy models, sessions, content crypto."""


class StoreError(Exception):
    """Base error of the store package."""


class ContentGone(StoreError):
    """The content was deleted (or its key shredded) and cannot be read."""

    def __init__(self, record_id: str) -> None:
        super().__init__(f"content of {record_id} is gone")
        self.record_id = record_id


class KeyStoreUnavailable(StoreError):
    """The key store (KEY_STORE_URL) did not answer: a temporary error, tried again later; nothing is lost."""

    def __init__(self, label: str) -> None:
        super().__init__(f"key store {label} is unavailable")
        self.label = label
