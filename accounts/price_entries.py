"""A price list entry as typed (account page, console, CLI or a CSV file): its rules, and the CSV parsing.

PriceListError carries what is wrong and where, so each caller can say it in its own words.
"""
from __future__ import annotations

import csv
import io
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from accounts import AccountError
from extraction.models import MAX_UNIT_PRICE, CatalogueEntry, Unit

MAX_ENTRIES = 500
CENT = Decimal("0.01")
MAX_DESCRIPTION = 200
VAT_RATES = (Decimal(0), Decimal(7), Decimal(19))
# The words a German (or English) price list uses for a unit, besides the Unit values themselves.
UNIT_SYNONYMS: dict[Unit, tuple[str, ...]] = {
    Unit.HOUR: ("std", "stunde", "stunden", "hour", "hours", "hrs"),
    Unit.PIECE: ("stk", "stück", "stueck", "st", "pc", "pcs", "pieces"),
    Unit.METRE: ("meter", "lfm", "lfdm"),
    Unit.SQUARE_METRE: ("m²", "qm"),
    Unit.CUBIC_METRE: ("m³", "cbm"),
    Unit.LITRE: ("liter", "ltr"),
    Unit.DAY: ("tag", "tage", "days"),
    Unit.LUMP_SUM: ("pauschal", "pauschale", "psch", "lump sum"),
}
UNIT_WORDS = {unit.value: unit for unit in Unit} | {
    word: unit for unit, words in UNIT_SYNONYMS.items() for word in words}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
Field = Literal["description", "unit", "unit_price", "vat_rate", "columns", "header", "file", "list"]
HINTS = {
    ("description", "required"): "the description is empty",
    ("description", "too_long"): f"the description is longer than {MAX_DESCRIPTION} characters",
    ("description", "duplicate"): "this description appears twice",
    ("unit", "unknown"): "unknown unit (use h, piece, m, m2, m3, km, kg, l, day, lump_sum, or Std, Stk, Tag, pauschal)",
    ("unit_price", "format"): "the price is not a number (write e.g. 62,50 or 62.50)",
    ("unit_price", "range"): f"the price must be between 0 and {MAX_UNIT_PRICE} euros",
    ("vat_rate", "choice"): "the VAT rate must be 0, 7 or 19 (or empty for the tenant's rate)",
    ("columns", "count"): "wrong number of fields (quote a price with a decimal comma, or separate by ';')",
    ("header", "unknown"): "the first line must name the columns: description,unit,unit_price,vat_rate "
                           "(or Bezeichnung;Einheit;Preis;MwSt)",
    ("file", "empty"): "the file has no entries",
    ("file", "format"): "this is not a readable CSV file",
    ("list", "full"): f"a price list holds at most {MAX_ENTRIES} entries",
}


class PriceListError(AccountError):
    """A bad entry or file: `field` and `reason` say what is wrong, `line` where (a CSV line; None for a form)."""

    def __init__(self, field: Field, reason: str, line: int | None = None, value: str = "") -> None:
        self.field, self.reason, self.line, self.value = field, reason, line, value
        where = f"line {line}: " if line is not None else ""
        shown = f" ({value[:40]!r})" if value else ""
        super().__init__(f"{where}{HINTS.get((field, reason), f'{field} {reason}')}{shown}")


def read_number(text: str) -> Decimal | None:
    """'62,50', '62.50', '1.234,50', '1,234.50', '19 %' or '62,50 €' as a Decimal; None when not a number."""
    text = re.sub(r"[\s\u00a0€%]", "", text)
    if "," in text and "." in text:  # the last separator is the decimal one
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    text = text.replace(",", ".")
    return Decimal(text) if NUMBER.fullmatch(text) else None


def read_price_entry(description: str, unit: str, unit_price: str | Decimal, vat_rate: str | Decimal | None,
                     line: int | None = None) -> CatalogueEntry:
    """One entry as typed (form, CLI or CSV), validated and normalised; PriceListError names the first problem."""
    description = " ".join(description.split())
    if not description:
        raise PriceListError("description", "required", line)
    if len(description) > MAX_DESCRIPTION:
        raise PriceListError("description", "too_long", line)
    found = UNIT_WORDS.get(unit.strip().lower().rstrip("."))
    if found is None:
        raise PriceListError("unit", "unknown", line, unit.strip())
    price = read_number(str(unit_price))
    if price is None:
        raise PriceListError("unit_price", "format", line, str(unit_price).strip())
    if not Decimal(0) <= price <= MAX_UNIT_PRICE:
        raise PriceListError("unit_price", "range", line, str(unit_price).strip())
    rate = read_number(str(vat_rate)) if vat_rate is not None and str(vat_rate).strip() else None
    if vat_rate is not None and str(vat_rate).strip() and rate not in VAT_RATES:
        raise PriceListError("vat_rate", "choice", line, str(vat_rate).strip())
    return CatalogueEntry(description=description, unit=found, unit_price=price.quantize(CENT, ROUND_HALF_UP),
                          vat_rate=None if rate is None else rate.quantize(CENT))




# Column names of the header row, lower case and without spaces, dots or signs ("MwSt. %" -> "mwst").
COLUMNS = {"description": "description", "bezeichnung": "description", "beschreibung": "description",
           "leistung": "description", "unit": "unit", "einheit": "unit", "unit_price": "unit_price",
           "price": "unit_price", "preis": "unit_price", "einzelpreis": "unit_price", "nettopreis": "unit_price",
           "preisnetto": "unit_price", "vat_rate": "vat_rate", "vat": "vat_rate", "mwst": "vat_rate",
           "ust": "vat_rate", "mwstsatz": "vat_rate", "ustsatz": "vat_rate"}
REQUIRED = {"description", "unit", "unit_price"}


def read_header(row: list[str], line: int) -> list[str]:
    """The canonical column names of a header row; PriceListError when one is unknown, twice or missing."""
    columns = [COLUMNS.get(re.sub(r"[^a-zäöüß_]", "", cell.lower()), "") for cell in row]
    for cell, column in zip(row, columns, strict=True):
        if not column or columns.count(column) > 1:
            raise PriceListError("header", "unknown", line, cell.strip())
    if not set(columns) >= REQUIRED:
        raise PriceListError("header", "unknown", line)
    return columns


def parse_price_csv(text: str) -> list[CatalogueEntry]:
    """The entries of a CSV file with a header row, separated by ';' or ',' (or tabs), German or English.

    PriceListError names the first bad line; blank lines and trailing empty fields (Excel's) are skipped.
    """
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    reader = csv.reader(io.StringIO(text), delimiter=max(";,\t", key=first.count))
    columns: list[str] = []
    entries: list[CatalogueEntry] = []
    seen: set[str] = set()
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            while not row[-1].strip() and len(row) > max(len(columns), 1):
                row.pop()
            if not columns:
                columns = read_header(row, reader.line_num)
                continue
            if len(row) > len(columns):
                raise PriceListError("columns", "count", reader.line_num)
            values = dict(zip(columns, row + [""] * (len(columns) - len(row)), strict=True))
            entry = read_price_entry(values["description"], values["unit"], values["unit_price"],
                                     values.get("vat_rate"), reader.line_num)
            if entry.description.casefold() in seen:
                raise PriceListError("description", "duplicate", reader.line_num, entry.description)
            seen.add(entry.description.casefold())
            entries.append(entry)
    except csv.Error as exc:
        raise PriceListError("file", "format", reader.line_num) from exc
    if len(entries) > MAX_ENTRIES:
        raise PriceListError("list", "full")
    if not entries:
        raise PriceListError("file", "empty")
    return entries
