"""`flask tenant prices import | list`: a tenant's price list from a CSV file, and what it holds."""
from __future__ import annotations

from typing import IO

import click
from flask.cli import AppGroup

from accounts.console import import_tenant_prices
from accounts.price_entries import PriceListError
from accounts.pricelist import list_price_items
from handlers.cli.output import run_action
from services import get_services
from store.audit import CLI_ACTOR
from store.models import PriceItem, Tenant

group = AppGroup("prices", help="A tenant's price list (what the bot prices unpriced items with).")


def read_text(data: bytes) -> str:
    """UTF-8 (with or without Excel's BOM), else Windows-1252: what a German Excel saves as 'CSV'."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def import_prices(tenant_id: int, text: str, replace: bool) -> int:
    try:
        with get_services().db.session() as session:
            return import_tenant_prices(session, CLI_ACTOR, tenant_id, text, replace)
    except PriceListError as exc:
        raise click.ClickException(f"{exc}; nothing was imported: fix the file and run the import again") from exc


def load_prices(tenant_id: int) -> list[PriceItem]:
    with get_services().db.session() as session:
        session.get_one(Tenant, tenant_id)
        return list_price_items(session, tenant_id)


@group.command("import")
@click.argument("tenant_id", type=int)
@click.argument("file", type=click.File("rb"))
@click.option("--replace", is_flag=True, help="the file becomes the whole list (entries not in it are deleted)")
def prices_import(tenant_id: int, file: IO[bytes], replace: bool) -> None:
    """Import FILE.csv (header description,unit,unit_price,vat_rate or Bezeichnung;Einheit;Preis;MwSt).

    Entries are added or, with the same description, updated; all or nothing.
    """
    count = run_action(lambda: import_prices(tenant_id, read_text(file.read()), replace))
    click.echo(f"tenant {tenant_id}: {count} price list entries imported" + (" (list replaced)" if replace else ""))


@group.command("list")
@click.argument("tenant_id", type=int)
def prices_list(tenant_id: int) -> None:
    """The tenant's price list: description, unit, net price in euros, VAT rate (- = the tenant's rate)."""
    items = run_action(lambda: load_prices(tenant_id))
    if not items:
        click.echo(f"tenant {tenant_id}: the price list is empty")
    for item in items:
        rate = "-" if item.vat_rate is None else f"{item.vat_rate.normalize():f} %"
        click.echo(f"{item.description[:60]:<60}  {item.unit:<8}  {item.unit_price:>10}  {rate}")
