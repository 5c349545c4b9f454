"""WhatsApp numbers at rest: sealed for sending, looked up only by their keyed pseudonym."""
from __future__ import annotations

from store import StoreError
from store.crypto import ContentCipher


class TenantGone(StoreError):
    def __init__(self) -> None:
        super().__init__("this tenant was offboarded; its number and profile are deleted")



def seal_phone(cipher: ContentCipher, e164: str) -> tuple[bytes, str]:
    """(sealed number, pseudonym): the number is kept only encrypted, bound to its pseudonym."""
    pseudonym = cipher.pseudonym(e164)
    return cipher.seal_field(e164, f"phone/{pseudonym}"), pseudonym


def open_phone(cipher: ContentCipher, sealed: bytes | None, pseudonym: str) -> str:
    """The number in clear, for sending to it or showing it to its owner; TenantGone once offboarded."""
    if sealed is None:
        raise TenantGone()
    return cipher.open_field(sealed, f"phone/{pseudonym}")
