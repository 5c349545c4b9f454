"""Jinja2 filters for the invoice template: money, dates, numbers, percentages, units, countries."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context

from documents.amounts import PRICE_PLACES, round_cents


@lru_cache(maxsize=8)
def load_locale(name: str) -> Locale:
    """Babel's Locale for e.g. "de_DE", parsed once (Babel would parse the name again for every amount)."""
    return Locale.parse(name)


def format_money(value: Decimal, locale: str) -> str:
    """1.234,56 € (de_DE) or €1,234.56 (en), rounded half up to cents: on the invoice and in the chat alike."""
    return format_currency(round_cents(value), "EUR", locale=load_locale(locale))


@pass_context
def filter_money(context: Context, value: Decimal) -> str:
    """format_money in the template's locale."""
    return format_money(value, context["locale"])


@pass_context
def format_price(context: Context, value: Decimal) -> str:
    """A unit price as the e-invoice states it: cents, or up to 4 decimals (84,0336 €) when it has more."""
    price = value.quantize(PRICE_PLACES).normalize()
    return format_currency(price, "EUR", locale=load_locale(context["locale"]), decimal_quantization=False)


def format_day_in(value: dt.date, locale: str) -> str:
    """21.11.2026 (de_DE) or 21 Nov 2026 (en)."""
    return format_date(value, "medium", locale=load_locale(locale))


@pass_context
def format_day(context: Context, value: dt.date) -> str:
    """21.11.2026 (de) or 21 Nov 2026 (en)."""
    return format_day_in(value, context["locale"])


@pass_context
def format_number(context: Context, value: Decimal) -> str:
    return format_decimal(value, locale=load_locale(context["locale"]))


@pass_context
def format_percent(context: Context, value: Decimal) -> str:
    """19 % (de) or 19% (en); value is in percent."""
    return context["t"]["percent"].format(format_decimal(value, locale=load_locale(context["locale"])))


@pass_context
def name_unit(context: Context, unit: str) -> str:
    return context["units"].get(unit, unit)


def name_country_in(code: str, locale: str) -> str:
    """The country's name in the given locale, upper case as DIN 5008 asks for abroad."""
    return str(load_locale(locale).territories.get(code.upper(), code)).upper()


@pass_context
def name_country(context: Context, code: str) -> str:
    return name_country_in(code, context["locale"])
