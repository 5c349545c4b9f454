"""What a correction changed, in plain words: computed by the code from the old and new fields, never by the model."""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal

from documents.labels import UNITS, locale_of
from documents.pdf.formatting import format_money, load_locale
from extraction.models import Customer, InvoiceFields, Item

WORDS = {
    "de": {"customer": "Kunde", "address": "Adresse", "removed": "entfernt", "added": "neu", "price": "Preis",
           "date": "Leistungsdatum", "title": "Auftrag", "discount": "Rabatt", "notes": "Hinweis",
           "reverse_charge": "Steuerschuldnerschaft des Leistungsempfängers", "vat_id": "USt-IdNr.",
           "gross_prices": "Preise inkl. MwSt.", "yes": "ja", "no": "nein", "none": "–", "leitweg_id": "Leitweg-ID",
           "email": "E-Mail"},
    "en": {"customer": "Customer", "address": "Address", "removed": "removed", "added": "added", "price": "Price",
           "date": "Service date", "title": "Job", "discount": "Discount", "notes": "Note",
           "reverse_charge": "Reverse charge", "vat_id": "VAT ID", "gross_prices": "Prices incl. VAT", "yes": "yes",
           "no": "no", "none": "–", "leitweg_id": "Leitweg-ID", "email": "E-mail"},
}


def _address(customer: Customer | None) -> str:
    if customer is None:
        return ""
    place = " ".join(p for p in (customer.postal_code, customer.city) if p)
    return ", ".join(p for p in (customer.street, place) if p)


def format_quantity(value: Decimal, language: str) -> str:
    """2,5 (de) or 2.5 (en), without trailing zeros."""
    return format_decimal(value, locale=load_locale(locale_of(language)))


def _quantity(item: Item, language: str) -> str:
    unit = UNITS.get(language, UNITS["de"]).get(item.unit.value, item.unit.value)
    return f"{format_quantity(item.quantity, language)} {unit}"


def _price(value: Decimal | None, language: str, none: str) -> str:
    return none if value is None else format_money(value, locale_of(language))


def _pair_items(old: list[Item], new: list[Item]) -> tuple[list[tuple[Item, Item]], list[Item], list[Item]]:
    """(matched pairs, removed, added): same description first, then same position and kind (a rename)."""
    remaining = list(new)
    pairs: list[tuple[Item, Item]] = []
    unmatched: list[Item] = []
    for item in old:
        match = next((n for n in remaining if n.description.casefold() == item.description.casefold()), None)
        if match is None:
            unmatched.append(item)
        else:
            remaining.remove(match)
            pairs.append((item, match))
    removed: list[Item] = []
    for item in unmatched:
        index = old.index(item)
        match = next((n for n in remaining if n.kind == item.kind and new.index(n) == index), None)
        if match is None:
            removed.append(item)
        else:
            remaining.remove(match)
            pairs.append((item, match))
    return pairs, removed, remaining


def describe_item_changes(old: list[Item], new: list[Item], language: str) -> list[str]:
    w = WORDS.get(language, WORDS["de"])
    pairs, removed, added = _pair_items(old, new)
    lines: list[str] = []
    for before, after in pairs:
        name = after.description
        if before.description != after.description:
            lines.append(f"{before.description} → {after.description}")
        if (before.quantity, before.unit) != (after.quantity, after.unit):
            lines.append(f"{name}: {_quantity(before, language)} → {_quantity(after, language)}")
        if before.unit_price != after.unit_price:
            lines.append(f"{name}: {w['price']} {_price(before.unit_price, language, w['none'])} → "
                         f"{_price(after.unit_price, language, w['none'])}")
    lines += [f"{w['removed']}: {item.description}" for item in removed]
    lines += [f"{w['added']}: {_quantity(item, language)} {item.description}" for item in added]
    return lines


def describe_changes(old: InvoiceFields, new: InvoiceFields, language: str) -> list[str]:
    """One short line per change, e.g. 'Kunde: Maier → Meier', 'Arbeitszeit: 2 Std. → 3 Std.', 'entfernt: Anfahrt'."""
    w = WORDS.get(language, WORDS["de"])
    none = w["none"]
    lines: list[str] = []

    def compare(label: str, before: object, after: object) -> None:
        if before != after:
            lines.append(f"{label}: {before if before not in (None, '') else none} → "
                         f"{after if after not in (None, '') else none}")

    compare(w["customer"], old.customer.name if old.customer else None, new.customer.name if new.customer else None)
    compare(w["address"], _address(old.customer), _address(new.customer))
    for key in ("vat_id", "leitweg_id", "email"):
        compare(w[key], getattr(old.customer, key, None), getattr(new.customer, key, None))
    compare(w["date"], old.service_date, new.service_date)
    compare(w["title"], old.job_title, new.job_title)
    lines += describe_item_changes(old.items, new.items, language)
    compare(w["discount"], old.discount_percent and f"{format_quantity(old.discount_percent, language)} %",
            new.discount_percent and f"{format_quantity(new.discount_percent, language)} %")
    yes_no = {True: w["yes"], False: w["no"]}
    compare(w["reverse_charge"], yes_no[old.reverse_charge], yes_no[new.reverse_charge])
    compare(w["gross_prices"], yes_no[old.prices_include_vat], yes_no[new.prices_include_vat])
    compare(w["notes"], old.notes, new.notes)
    return lines
