"""IBAN and BIC checks (schwifty), shared by the account page, the support console and the CLI."""
from __future__ import annotations

from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty.exceptions import InvalidChecksumDigits, SchwiftyException

from accounts import AccountError

BANK_REASONS = {"required": "is missing", "format": "is not valid",
                "checksum": "is not valid (its check digits do not match)",
                "mismatch": "does not belong to the IBAN's bank"}


@dataclass(frozen=True)
class BankDetails:
    """A checked, normalised IBAN and the BIC given with it."""

    iban: str
    bic: str | None


def mask_iban(iban: str) -> str:
    """'DE02 … 2051': enough to recognise an account in a notice, not enough to pay into it."""
    return f"{iban[:4]} … {iban[-4:]}"


class InvalidBankDetails(AccountError):
    """`errors` maps 'iban' and/or 'bic' to a reason: required, format, checksum or mismatch."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name.upper()} {BANK_REASONS.get(reason, reason)}"
                                   for name, reason in errors.items()))
        self.errors = errors


def normalise_code(value: str | None) -> str:
    """An IBAN or BIC without any whitespace, in upper case ('' for None)."""
    return "".join((value or "").split()).upper()


def find_iban_problem(iban: str | None) -> str | None:
    """None for a valid IBAN (country length, BBAN format, mod-97 check digits), else required, format or checksum."""
    value = normalise_code(iban)
    if not value:
        return "required"
    try:
        IBAN(value)
    except InvalidChecksumDigits:
        return "checksum"
    except SchwiftyException:  # InvalidLength, InvalidStructure, InvalidCountryCode, ...
        return "format"
    return None


def bank_bic_of(iban: str | None) -> BIC | None:
    """The BIC of the IBAN's bank when schwifty's registry knows it; None for an unknown bank or a bad IBAN."""
    value = normalise_code(iban)
    if not value:
        return None
    try:
        return IBAN(value).bic
    except SchwiftyException:
        return None


def find_bic_problem(bic: str | None, iban: str | None = None) -> str | None:
    """None for no BIC or a valid one; format for a malformed BIC; mismatch when the registry names another bank.

    The branch code (last three characters) is not compared: a bank's branch BICs share the first eight.
    """
    value = normalise_code(bic)
    if not value:
        return None
    try:
        code = BIC(value)
    except SchwiftyException:  # InvalidLength, InvalidStructure, InvalidCountryCode
        return "format"
    expected = bank_bic_of(iban)
    return "mismatch" if expected is not None and str(code)[:8] != str(expected)[:8] else None


def find_bank_problems(iban: str | None, bic: str | None) -> dict[str, str]:
    """Field name -> reason for the IBAN (required) and the BIC (optional) together."""
    problems = {"iban": find_iban_problem(iban), "bic": find_bic_problem(bic, iban)}
    return {name: reason for name, reason in problems.items() if reason}
