"""Invoice amounts, EN 16931 style: Decimal, rounded half up to cents (DESIGN section 6)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from documents import PriceMissing
from extraction.models import CatalogueEntry, InvoiceFields, Item, ItemKind

CENT = Decimal("0.01")
PRICE_PLACES = Decimal("0.0001")  # unit prices in the e-invoice
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


@dataclass(frozen=True)
class Filled:
    """Fields with the prices the tenant's defaults give; what came from the price list; what is still unpriced."""

    fields: InvoiceFields
    from_catalogue: list[str]
    missing: list[str]


def match_entry(item: Item, catalogue: list[CatalogueEntry]) -> CatalogueEntry | None:
    """The price-list entry an item names (same unit; one name contains the other), the longest name first."""
    name = item.description.casefold()
    found = [e for e in catalogue if e.unit == item.unit
             and (e.description.casefold() in name or name in e.description.casefold())]
    return max(found, key=lambda e: len(e.description), default=None)


def fill_prices(fields: InvoiceFields, hourly_rate: Decimal | None,
                catalogue: list[CatalogueEntry] | None = None) -> Filled:
    """Fill unsaid prices from the price list, then labour hours from the hourly rate; list what stays unpriced."""
    items: list[Item] = []
    from_catalogue: list[str] = []
    missing: list[str] = []
    for item in fields.items:
        entry = match_entry(item, catalogue or []) if item.unit_price is None else None
        if entry is not None:
            item = item.model_copy(update={"unit_price": entry.unit_price,
                                           "vat_rate": item.vat_rate if item.vat_rate is not None else entry.vat_rate})
            from_catalogue.append(item.description)
        if item.unit_price is None and item.kind == ItemKind.LABOR and item.unit.value == "h" and hourly_rate:
            item = item.model_copy(update={"unit_price": hourly_rate})
        if item.unit_price is None:
            missing.append(item.description)
        items.append(item)
    return Filled(fields.model_copy(update={"items": items}), from_catalogue, missing)


def _item_rate(item: Item, default_rate: Decimal, tax_mode: TaxMode) -> Decimal:
    if tax_mode is not TaxMode.STANDARD:
        return Decimal(0)
    return default_rate if item.vat_rate is None else item.vat_rate


def compute_totals(fields: InvoiceFields, default_rate: Decimal, tax_mode: TaxMode = TaxMode.STANDARD) -> Totals:
    """Compute line nets, per-rate groups and the §35a labour share; prices must be filled.

    Prices said including VAT become 4-decimal net prices, then _reconcile_gross makes each gross as said.
    """
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
            price = (price * HUNDRED / (HUNDRED + rate)).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
        net = round_cents(item.quantity * price)
        lines.append(Line(item.description, item.quantity, item.unit.value, price, item.kind, rate, net))
    for rate, gross in gross_by_rate.items():
        lines = _reconcile_gross(lines, rate, gross - round_cents(gross * percent / HUNDRED), percent)

    groups = [_group(rate, sum((line.net for line in lines if line.vat_rate == rate), Decimal("0.00")), percent)
              for rate in sorted({line.vat_rate for line in lines}, reverse=True)]
    labour_net = labour_vat = Decimal("0.00")
    for line in lines:
        if line.kind in (ItemKind.LABOR, ItemKind.TRAVEL):
            share = line.net * (HUNDRED - percent) / HUNDRED
            labour_net += share
            labour_vat += share * line.vat_rate / HUNDRED
    labour_net = round_cents(labour_net)
    return Totals(lines, groups, tax_mode, percent, labour_net, round_cents(labour_net + labour_vat))


def _group(rate: Decimal, subtotal: Decimal, percent: Decimal) -> VatGroup:
    """One VAT group: discount = round(subtotal × %), net = subtotal − discount, VAT = round(net × rate)."""
    discount = round_cents(subtotal * percent / HUNDRED)
    net = subtotal - discount
    return VatGroup(rate, subtotal, discount, net, round_cents(net * rate / HUNDRED))


def _with_net(line: Line, net: Decimal) -> Line | None:
    """The line with another net, or None if that net is not > 0 or its 4-decimal unit price cannot state it."""
    price = (net / line.quantity).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
    if net <= 0 or round_cents(line.quantity * price) != net:
        return None
    return replace(line, unit_price=price, net=net)


def _reconcile_gross(lines: list[Line], rate: Decimal, said_gross: Decimal, percent: Decimal) -> list[Line]:
    """Set the line nets of one rate so that the group's net + VAT equals the said gross.

    said_gross: Σ round(quantity × stated gross price) of the rate's lines less a discount rounded as the
    invoice rounds it, round(gross × %): "5 % off 119.10" is 119.10 − 5.96 = 113.14.
    1. Target net N: the largest with N + round(N × rate) <= said_gross, among candidates around
       said_gross / (1 + rate). That gross rises by 1 or 2 cents per cent of N, so 19 of every 119 cent
       values are unreachable at 19 % (e.g. 20.45: N = 17.18 gives 20.44, 17.19 gives 20.46), 7 of every
       107 at 7 %, none at 0 %; those become the gross one cent below (never more than said).
    2. Target subtotal: the one nearest Σ line nets whose net after discount is N (every N is one).
    3. The difference goes one cent at a time to the lines, largest net first, round robin, skipping a
       line whose net would not stay > 0 or could not be stated by a 4-decimal unit price (possible only
       for quantities above 100); lines with net 0 stay 0. What no line can take stays, so only then
       (all nets 0.01, or all quantities above 100) may the gross miss by more than a cent.
    """
    guess = round_cents(said_gross * HUNDRED / (HUNDRED + rate))
    target_net = max(net for net in (guess + k * CENT for k in range(-3, 4))
                     if net >= 0 and net + round_cents(net * rate / HUNDRED) <= said_gross)
    subtotal = sum((line.net for line in lines if line.vat_rate == rate), Decimal("0.00"))
    target = subtotal
    while _group(rate, target, percent).net < target_net:
        target += CENT
    while _group(rate, target, percent).net > target_net:
        target -= CENT
    result = list(lines)
    order = sorted((i for i, line in enumerate(lines) if line.vat_rate == rate and line.net > 0),
                   key=lambda i: (-lines[i].net, i))
    step = CENT if target > subtotal else -CENT
    moved = True
    while subtotal != target and moved:
        moved = False
        for i in order:
            nudged = _with_net(result[i], result[i].net + step) if subtotal != target else None
            if nudged is not None:
                result[i], subtotal, moved = nudged, subtotal + step, True
    return result


def reverse_totals(totals: Totals) -> Totals:
    """The same totals with every amount reversed, as a Stornorechnung shows them: negative quantities (the unit
    prices stay as they were), line nets, discounts, VAT, gross and the §35a labour share."""
    lines = [replace(line, quantity=-line.quantity, net=-line.net) for line in totals.lines]
    groups = [VatGroup(g.rate, -g.subtotal, -g.discount, -g.net, -g.vat) for g in totals.groups]
    return replace(totals, lines=lines, groups=groups, labour_net=-totals.labour_net,
                   labour_gross=-totals.labour_gross)
