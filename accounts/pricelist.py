"""The tenant's price list: list, add or update by description, delete, CSV import, and the model's catalogue.

Business data, kept while the contract runs (LÖSCHEN keeps it, offboarding deletes it). What an entry may be,
and how a CSV file reads, is accounts/price_entries.py.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounts.price_entries import MAX_ENTRIES, PriceListError, parse_price_csv, read_price_entry
from extraction.models import CatalogueEntry, Unit
from store.db import execute_count
from store.models import PriceItem


def list_price_items(session: Session, tenant_id: int) -> list[PriceItem]:
    """The tenant's price list, ordered by description."""
    return list(session.scalars(select(PriceItem).where(PriceItem.tenant_id == tenant_id)
                                .order_by(PriceItem.description, PriceItem.id)))


def catalogue_of(session: Session, tenant_id: int) -> list[CatalogueEntry]:
    """The price list as the extraction model gets it for context."""
    return [CatalogueEntry(description=item.description, unit=Unit(item.unit), unit_price=item.unit_price,
                           vat_rate=item.vat_rate) for item in list_price_items(session, tenant_id)]


def store_entries(session: Session, tenant_id: int, entries: list[CatalogueEntry],
                  replace: bool = False) -> list[PriceItem]:
    """Add or update (by description, case-insensitively) validated entries; `replace` drops those not given.

    PriceListError when the list would hold more than MAX_ENTRIES, and then nothing has changed.
    """
    existing = {} if replace else {item.description.casefold(): item for item in list_price_items(session, tenant_id)}
    if len(existing.keys() | {entry.description.casefold() for entry in entries}) > MAX_ENTRIES:
        raise PriceListError("list", "full")
    if replace:
        session.execute(delete(PriceItem).where(PriceItem.tenant_id == tenant_id))
        session.flush()
    stored = []
    for entry in entries:
        item = existing.get(entry.description.casefold())
        if item is None:
            item = existing[entry.description.casefold()] = PriceItem(tenant_id=tenant_id)
            session.add(item)
        item.description, item.unit = entry.description, entry.unit.value
        item.unit_price, item.vat_rate = entry.unit_price, entry.vat_rate
        stored.append(item)
    session.flush()
    return stored


def save_price_item(session: Session, tenant_id: int, description: str, unit: str, unit_price: str | Decimal,
                    vat_rate: str | Decimal | None) -> PriceItem:
    """Add an entry, or update the one with the same description; PriceListError leaves the list as it was."""
    [item] = store_entries(session, tenant_id, [read_price_entry(description, unit, unit_price, vat_rate)])
    return item


def delete_price_item(session: Session, tenant_id: int, item_id: int) -> bool:
    """Delete one of the tenant's own entries; False for an unknown id or another tenant's."""
    return execute_count(session, delete(PriceItem).where(PriceItem.id == item_id,
                                                          PriceItem.tenant_id == tenant_id)) > 0


def import_price_csv(session: Session, tenant_id: int, text: str, replace: bool) -> int:
    """Add or update every entry of a CSV file (`replace`: the file becomes the whole list); returns how many.

    All or nothing: a bad line raises PriceListError (with its line number) before anything is stored.
    """
    entries = parse_price_csv(text)
    store_entries(session, tenant_id, entries, replace)
    return len(entries)
