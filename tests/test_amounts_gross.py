"""Prices said including VAT: the invoice's gross per rate is the said gross (DESIGN section 6).

The oracle is independent of documents.amounts: integer cents, and which grosses a net can reach at all is
found by trying every net.
"""
from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import pytest

from documents.amounts import Totals, compute_totals
from extraction.models import InvoiceFields

RATES = (19, 7, 0)
QUANTITIES = ("1", "2.5", "3", "7")
PERCENTS = (0, 3, 10)
LIMIT = 1_000_000  # cents; every said gross in these tests stays below it


def cents(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def half_up(numerator: int, denominator: int) -> int:
    """round(numerator / denominator), half up, for numerator >= 0."""
    return (2 * numerator + denominator) // (2 * denominator)


@cache
def reachable(rate: int) -> bytearray:
    """reachable(rate)[g] == 1 iff some net n (in cents) has n + round(n × rate %) == g: tried for every n."""
    found = bytearray(LIMIT)
    for net in range(LIMIT):
        gross = net + half_up(net * rate, 100)
        if gross < LIMIT:
            found[gross] = 1
    return found


def invoice(items: list[tuple[str, str, int]], percent: int = 0) -> InvoiceFields:
    """items: (quantity, gross unit price, VAT rate)."""
    return InvoiceFields.model_validate({
        "customer": None, "prices_include_vat": True, "discount_percent": str(percent),
        "items": [{"description": f"Position {n}", "quantity": quantity, "unit": "piece", "unit_price": price,
                   "kind": "labor" if n % 2 else "material", "vat_rate": rate}
                  for n, (quantity, price, rate) in enumerate(items)]})


def said_gross(items: list[tuple[str, str, int]], percent: int, rate: int) -> int:
    """Σ round(quantity × gross price) of the rate, less round(that × percent), in cents."""
    gross = sum(cents(Decimal(quantity) * Decimal(price)) for quantity, price, item_rate in items if item_rate == rate)
    return gross - half_up(gross * percent, 100)


def check_invariants(totals: Totals, percent: int) -> None:
    """Line nets > 0 and stated by their 4-decimal unit price; groups follow the EN 16931 rules."""
    for line in totals.lines:
        assert line.net > 0, line
        assert line.unit_price == line.unit_price.quantize(Decimal("0.0001")), line
        assert cents(line.quantity * line.unit_price) == cents(line.net), line
    for group in totals.groups:
        subtotal = sum(cents(line.net) for line in totals.lines if line.vat_rate == group.rate)
        assert cents(group.subtotal) == subtotal
        assert cents(group.discount) == half_up(subtotal * percent, 100)
        assert cents(group.net) == subtotal - cents(group.discount)
        assert cents(group.vat) == half_up(cents(group.net) * int(group.rate), 100)


def check_gross(items: list[tuple[str, str, int]], percent: int = 0) -> Totals:
    """Each rate's gross is the said gross if a net reaches it, else the gross one cent below."""
    totals = compute_totals(invoice(items, percent), Decimal(19))
    check_invariants(totals, percent)
    for group in totals.groups:
        rate = int(group.rate)
        said = said_gross(items, percent, rate)
        expected = said if reachable(rate)[said] else said - 1
        assert cents(group.gross) == expected, (items, percent, rate, said, group)
    return totals


@pytest.mark.parametrize("rate", RATES)
def test_every_said_gross_up_to_300_euros(rate: int) -> None:
    step = 1 if rate else 13
    for said in range(1, 30001, step):
        check_gross([("1", f"{said / 100:.2f}", rate)])


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("quantity", QUANTITIES)
@pytest.mark.parametrize("percent", PERCENTS)
def test_random_invoices(rate: int, quantity: str, percent: int) -> None:
    rng = random.Random(f"{rate}/{quantity}/{percent}")
    for price in range(1, 30001, 97):  # the first line's gross price, 0.01 to 300.00
        others = [(rng.choice(QUANTITIES), f"{rng.randint(50, 10000) / 100:.2f}", rate)
                  for _ in range(rng.randint(0, 3))]
        check_gross([(quantity, f"{price / 100:.2f}", rate), *others], percent)


@pytest.mark.parametrize("percent", PERCENTS)
def test_mixed_rates_are_reconciled_each(percent: int) -> None:
    rng = random.Random(percent)
    for _ in range(300):
        items = [(rng.choice(QUANTITIES), f"{rng.randint(50, 30000) / 100:.2f}", rng.choice(RATES))
                 for _ in range(rng.randint(2, 8))]
        totals = check_gross(items, percent)
        assert cents(totals.gross) == sum(cents(group.gross) for group in totals.groups)


def test_unreachable_gross_no_longer_oscillates() -> None:
    """The old nudge loop: 17.18 net gave 20.44, +1 cent gave 20.46, -1, +1: it ended at 20.46, above."""
    assert reachable(19)[2044] and not reachable(19)[2045] and reachable(19)[2046]
    totals = check_gross([("1", "0.50", 19), ("1", "19.95", 19)])
    (group,) = totals.groups
    assert (group.subtotal, group.vat, group.gross) == (Decimal("17.18"), Decimal("3.26"), Decimal("20.44"))


def test_more_than_three_cents_off_is_reached() -> None:
    """The old loop stopped after 3 cents at 2707.81; 2707.82 is reachable."""
    items = [("2.5", "16.39", 19), ("2.5", "20.13", 19), ("2.5", "275.93", 19), ("7", "187.91", 19),
             ("2.5", "110.29", 19), ("1", "109.85", 19), ("2.5", "90.29", 19)]
    assert check_gross(items).gross == Decimal("2707.82")
    twenty = [("1", "0.03", 19)] * 20  # each net 0.03 at first: 0.60 + 0.11 VAT; ten of them go to 0.02
    totals = check_gross(twenty)
    assert totals.gross == Decimal("0.60")
    assert sorted(line.net for line in totals.lines) == [Decimal("0.02")] * 10 + [Decimal("0.03")] * 10


def test_said_gross_after_discount_rounds_the_discount() -> None:
    """100.10 less 5 %: the discount 5.005 rounds to 5.01 as the invoice rounds it, so 95.09, not 95.10."""
    totals = check_gross([("1", "100.10", 19)], 5)
    (group,) = totals.groups
    assert (group.subtotal, group.discount, group.net, group.vat) == (
        Decimal("84.12"), Decimal("4.21"), Decimal("79.91"), Decimal("15.18"))
    assert group.gross == Decimal("95.09")


def test_lines_too_small_to_take_the_difference() -> None:
    """Three lines of 0.01: 0.03 is unreachable and 0.02 would need a net of 0, so the gross stays 0.04."""
    totals = compute_totals(invoice([("1", "0.01", 19)] * 3), Decimal(19))
    check_invariants(totals, 0)
    assert totals.gross == Decimal("0.04")


def test_large_quantities_keep_a_stated_unit_price() -> None:
    """Above 100 pieces not every cent is quantity × a 4-decimal price; a small line then takes the cents."""
    alone = compute_totals(invoice([("1000", "3.04", 19)]), Decimal(19))
    check_invariants(alone, 0)
    assert abs(alone.gross - Decimal("3040.00")) <= Decimal("0.08")  # half a price step (0.10 net) plus VAT
    check_gross([("1000", "3.04", 19), ("1", "12.90", 19)])
    check_gross([("250.5", "1.19", 7), ("2.5", "4.99", 7), ("1", "0.99", 7)], 3)
