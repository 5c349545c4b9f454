"""A tenant's archive addresses: checked, normalised and saved with an audit entry (the count, never an address)."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from accounts import AccountError
from accounts.profiles import check_email
from store.archive import replace_archive_addresses
from store.audit import record_audit

MAX_ADDRESSES = 5


class ArchiveAddressInvalid(AccountError):
    """An archive address is not an e-mail address, or there are too many."""

    def __init__(self, address: str) -> None:
        super().__init__("invalid archive address" if address else "too many archive addresses")
        self.address = address  # shown to its owner on the form, never logged


def read_archive_addresses(values: Iterable[str]) -> list[str]:
    """Addresses as typed (blank entries dropped, also several on one line separated by commas or spaces) in the
    normalised form email-validator gives, without asking DNS; ArchiveAddressInvalid names the first bad one."""
    addresses: list[str] = []
    for value in values:
        for part in value.replace(",", " ").replace(";", " ").split():
            address = check_email(part)
            if address is None:
                raise ArchiveAddressInvalid(part)
            addresses.append(address)
    unique = list(dict.fromkeys(addresses))
    if len(unique) > MAX_ADDRESSES:
        raise ArchiveAddressInvalid("")
    return unique


def save_archive_addresses(session: Session, actor: str, tenant_id: int, addresses: list[str]) -> bool:
    """Replace the tenant's archive addresses in the caller's transaction; True when they changed."""
    changed = replace_archive_addresses(session, tenant_id, addresses)
    if changed:
        record_audit(session, actor, "archive_addresses_changed", tenant_id, count=len(addresses))
    return changed
