"""The seller's bank account as the documents write it, by schwifty: IBAN grouped for people, compact for machines.

The profile rules (accounts.banking) validated both codes; here schwifty reads them without validating again, so a
render never fails on them.
"""
from __future__ import annotations

from schwifty import BIC, IBAN


def group_iban(iban: str) -> str:
    """'de89370400440532013000' -> 'DE89 3704 0044 0532 0130 00'."""
    return IBAN(iban, allow_invalid=True).formatted


def compact_iban(iban: str) -> str:
    """'DE89 3704 0044 0532 0130 00' -> 'DE89370400440532013000'."""
    return IBAN(iban, allow_invalid=True).compact


def is_valid_iban(iban: str) -> bool:
    """Country, length and ISO 7064 mod 97-10 check digits are right."""
    return IBAN(iban, allow_invalid=True).is_valid


def compact_bic(bic: str | None) -> str:
    """'cobadeff xxx' -> 'COBADEFFXXX'; '' for None."""
    return BIC(bic or "", allow_invalid=True).compact
