"""Archive addresses per tenant, and where each issued invoice's archive copy stands (metadata, no content)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from store.models import ArchiveAddress, ArchiveState, Invoice, InvoiceState, utcnow

HOLDING = (ArchiveState.PENDING, ArchiveState.FAILED)  # the copy was not handed off: a download deletes nothing


def list_archive_addresses(session: Session, tenant_id: int) -> list[str]:
    return list(session.scalars(select(ArchiveAddress.email).where(ArchiveAddress.tenant_id == tenant_id)
                                .order_by(ArchiveAddress.id)))


def replace_archive_addresses(session: Session, tenant_id: int, addresses: list[str]) -> bool:
    """Set the tenant's archive addresses (already checked, in order, duplicates dropped); True when they changed."""
    wanted = list(dict.fromkeys(addresses))
    if wanted == list_archive_addresses(session, tenant_id):
        return False
    session.execute(delete(ArchiveAddress).where(ArchiveAddress.tenant_id == tenant_id))
    session.flush()
    session.add_all(ArchiveAddress(tenant_id=tenant_id, email=address) for address in wanted)
    session.flush()
    return True


def initial_archive_state(session: Session, tenant_id: int) -> ArchiveState | None:
    """What a newly issued invoice's archive copy starts as: PENDING with an address, None without."""
    first = session.scalar(select(ArchiveAddress.id).where(ArchiveAddress.tenant_id == tenant_id).limit(1))
    return ArchiveState.PENDING if first is not None else None


def archive_holds(invoice: Invoice) -> bool:
    """Whether the content must outlive a download: its archive copy was due and the mail server has not taken it."""
    return invoice.archive_state in HOLDING


def list_pending_archive_ids(session: Session, tenant_id: int | None = None) -> list[str]:
    """Invoices whose archive copy is still to be sent and whose content is still there."""
    query = select(Invoice.id).where(Invoice.archive_state == ArchiveState.PENDING, Invoice.deleted_at.is_(None),
                                     Invoice.state != InvoiceState.DELETED)
    if tenant_id is not None:
        query = query.where(Invoice.tenant_id == tenant_id)
    return list(session.scalars(query.order_by(Invoice.created_at)))


def mark_archived(session: Session, invoice_id: str, state: ArchiveState) -> Invoice:
    invoice = session.get_one(Invoice, invoice_id, with_for_update=True)
    invoice.archive_state = state
    if state is ArchiveState.SENT:
        invoice.archived_at = utcnow()
    return invoice


def list_archive_history(session: Session, tenant_id: int, limit: int = 50) -> list[Invoice]:
    """The tenant's newest issued invoices (number, date, archive state) for the account page."""
    return list(session.scalars(select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.number.is_not(None))
                                .order_by(Invoice.created_at.desc()).limit(limit)))


def reminder_due(last: dt.datetime | None, now: dt.datetime, interval: dt.timedelta = dt.timedelta(days=7)) -> bool:
    """The §14b reminder without an archive address: at most once per `interval`."""
    return last is None or now - last >= interval
