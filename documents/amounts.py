"""Invoice amounts, EN 16931 style: Decimal, rounded half up to cents (DESIGN section 6)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from documents import PriceMissing
from extraction.models import InvoiceFields, Item, ItemKind

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


class TaxMode(str, Enum):
    """How VAT applies to a whole invoice."""

    STANDARD = "standard"
    SMALL_BUSINESS = "small_business"  # §19 UStG Kleinunternehmer
    REVERSE_CHARGE = "reverse_charge"  # §13b UStG


def round_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal  # net
    kind: ItemKind
    vat_rate: Decimal
    net: Decimal


@dataclass(frozen=True)
class VatGroup:
    rate: Decimal
    subtotal: Decimal
    discount: Decimal
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


@dataclass(frozen=True)
class Totals:
    lines: list[Line]
    groups: list[VatGroup]
    tax_mode: TaxMode
    discount_percent: Decimal
    labour_net: Decimal
    labour_gross: Decimal

    @property
    def subtotal(self) -> Decimal:
        return sum((g.subtotal for g in self.groups), Decimal("0.00"))

    @property
    def discount(self) -> Decimal:
        return sum((g.discount for g in self.groups), Decimal("0.00"))

    @property
    def net(self) -> Decimal:
        return sum((g.net for g in self.groups), Decimal("0.00"))

    @property
    def vat(self) -> Decimal:
        return sum((g.vat for g in self.groups), Decimal("0.00"))

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def fill_prices(fields: InvoiceFields, hourly_rate: Decimal | None) -> InvoiceFields:
    """Fill missing labour prices from the tenant's hourly rate; raise PriceMissing for the rest."""
    items: list[Item] = []
    missing: list[str] = []
    for item in fields.items:
        if item.unit_price is None and item.kind == ItemKind.LABOR and item.unit.value == "h" and hourly_rate:
            item = item.model_copy(update={"unit_price": hourly_rate})
        if item.unit_price is None:
            missing.append(item.description)
        items.append(item)
    if missing:
        raise PriceMissing(missing)
    return fields.model_copy(update={"items": items})


def _item_rate(item: Item, default_rate: Decimal, tax_mode: TaxMode) -> Decimal:
    if tax_mode is not TaxMode.STANDARD:
        return Decimal(0)
    return default_rate if item.vat_rate is None else item.vat_rate


def compute_totals(fields: InvoiceFields, default_rate: Decimal, tax_mode: TaxMode = TaxMode.STANDARD) -> Totals:
    """Compute line nets, per-rate groups and the §35a labour share; prices must be filled."""
    if fields.reverse_charge and tax_mode is TaxMode.STANDARD:
        tax_mode = TaxMode.REVERSE_CHARGE
    percent = fields.discount_percent or Decimal(0)
    lines: list[Line] = []
    gross_by_rate: dict[Decimal, Decimal] = {}
    for item in fields.items:
        if item.unit_price is None:
            raise PriceMissing([item.description])
        rate = _item_rate(item, default_rate, tax_mode)
        price = item.unit_price
        if fields.prices_include_vat:
            gross_by_rate[rate] = gross_by_rate.get(rate, Decimal(0)) + round_cents(item.quantity * price)
            price = price * HUNDRED / (HUNDRED + rate)
        net = round_cents(item.quantity * price)
        lines.append(Line(item.description, item.quantity, item.unit.value, price, item.kind, rate, net))
    if fields.prices_include_vat:
        lines = _reconcile_gross(lines, gross_by_rate, percent)

    groups: list[VatGroup] = []
    for rate in sorted({line.vat_rate for line in lines}, reverse=True):
        subtotal = sum((line.net for line in lines if line.vat_rate == rate), Decimal("0.00"))
        discount = round_cents(subtotal * percent / HUNDRED)
        net = subtotal - discount
        groups.append(VatGroup(rate, subtotal, discount, net, round_cents(net * rate / HUNDRED)))

    labour_net = Decimal("0.00")
    labour_vat = Decimal("0.00")
    for line in lines:
        if line.kind in (ItemKind.LABOR, ItemKind.TRAVEL):
            share = line.net * (HUNDRED - percent) / HUNDRED
            labour_net += share
            labour_vat += share * line.vat_rate / HUNDRED
    labour_net = round_cents(labour_net)
    return Totals(lines, groups, tax_mode, percent, labour_net, round_cents(labour_net + labour_vat))


def _reconcile_gross(lines: list[Line], gross_by_rate: dict[Decimal, Decimal], percent: Decimal) -> list[Line]:
    """Nudge the largest line net per rate so that net + VAT equals the gross that was said."""
    result = list(lines)
    for rate, said_gross in gross_by_rate.items():
        said_gross = round_cents(said_gross * (HUNDRED - percent) / HUNDRED)
        indexes = [i for i, line in enumerate(result) if line.vat_rate == rate]
        for _ in range(3):
            subtotal = sum((result[i].net for i in indexes), Decimal(0))
            net = subtotal - round_cents(subtotal * percent / HUNDRED)
            diff = said_gross - (net + round_cents(net * rate / HUNDRED))
            if diff == 0:
                break
            biggest = max(indexes, key=lambda i: result[i].net)
            line = result[biggest]
            step = CENT if diff > 0 else -CENT
            new_net = line.net + step
            result[biggest] = Line(line.description, line.quantity, line.unit, new_net / line.quantity,
                                   line.kind, line.vat_rate, new_net)
    return result
