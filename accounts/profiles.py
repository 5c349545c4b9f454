"""The tenant profile's rules, one set for the account page, the support console and the CLI alike."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from email_validator import EmailNotValidError, validate_email
from stdnum.de import stnr
from stdnum.eu import vat
from stdnum.exceptions import ValidationError

from accounts import AccountError
from accounts.banking import BANK_REASONS, find_bic_problem, find_iban_problem, normalise_code
from accounts.tenants import BUSINESS_PHONE

PROFILE_FIELDS = ("company", "street", "postal_code", "city", "tax_number", "vat_id", "iban", "bic", "email",
                  "business_phone", "hourly_rate", "vat_rate", "payment_terms_days", "number_format", "language",
                  "retention_days", "small_business")
# What a new tenant gets for a field its form does not show (the console's has no number format or retention).
NEW_TENANT_DEFAULTS = {"vat_rate": "19", "payment_terms_days": "14", "number_format": "RE-{YYYY}-{NNNN}",
                       "language": "de", "retention_days": "30"}
POSTAL_DE = re.compile(r"\d{5}")
POSTAL_OTHER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]")
VAT_RATES = (Decimal(0), Decimal(7), Decimal(19))
NUMBER_TOKEN = re.compile(r"\{(?:YYYY|YY|MM|N{1,10})\}")
NUMBER_TEXT = re.compile(r"[A-Za-z0-9/_.#-]*")
TICKED = ("on", "1", "true", "yes", "True")
Check = Callable[[str], object]  # a field's format check: truthy when the value is well formed
# How the CLI and the logs name a problem (the pages have their own texts, German or English).
NAMES = {"iban": "IBAN", "bic": "BIC", "vat_id": "VAT id", "tax_number": "tax number (or VAT id)",
         "payment_terms_days": "payment terms"}
REASONS = {**BANK_REASONS, "too_long": "is too long", "range": "is out of range", "choice": "is not allowed"}
LIMITS = {"hourly_rate": "0 to 1000 euros", "vat_rate": "19, 7 or 0 %", "payment_terms_days": "0 to 90 days",
          "retention_days": "1 to 30 days"}


class ProfileInvalid(AccountError):
    """`errors` maps each bad field to a reason: required, too_long, format, checksum, range, choice or mismatch."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(describe_problem(name, reason) for name, reason in errors.items()))
        self.errors = errors


def describe_problem(name: str, reason: str) -> str:
    """'IBAN is not valid (its check digits do not match)', 'vat rate is not allowed (19, 7 or 0 %)'."""
    limit = f" ({LIMITS[name]})" if name in LIMITS else ""
    return f"{NAMES.get(name, name.replace('_', ' '))} {REASONS.get(reason, reason)}{limit}"


def is_valid_number_format(pattern: str) -> bool:
    """Known placeholders ({YYYY}, {YY}, {MM}), exactly one counter {N...}, plain characters around them."""
    counters = re.findall(r"\{N+\}", pattern)
    return (len(pattern) <= 40 and len(counters) == 1
            and NUMBER_TEXT.fullmatch(NUMBER_TOKEN.sub("", pattern)) is not None)


def read_amount(text: str) -> Decimal | None:
    """'58,50' or '58.50' as cents; None when not a finite number."""
    try:
        value = Decimal(text.replace(",", "."))
        return value.quantize(Decimal("0.01"), ROUND_HALF_UP) if value.is_finite() else None
    except InvalidOperation:  # not a number, or too large to hold cents
        return None


def check_email(address: str) -> str | None:
    """The address in email-validator's normalised form (a syntax check, without asking DNS); None when it is not
    one."""
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def is_valid_email(address: str) -> bool:
    return check_email(address) is not None


def find_field_problem(value: str, limit: int, check: Check | None = None, required: bool = True) -> str | None:
    """None when a text field is fine, else required, too_long or format."""
    if not value:
        return "required" if required else None
    if len(value) > limit:
        return "too_long"
    return "format" if check and not check(value) else None


def read_vat_id(text: str) -> tuple[str | None, str | None]:
    """The VAT id in stdnum's compact form ('de 123 456 788' -> 'DE123456788') and its problem (None or format)."""
    if not text:
        return None, None
    try:
        return vat.validate(text), None
    except ValidationError:  # unknown country, length or check digits
        return text, "format"


def read_fields(form: Mapping[str, object], partial: bool) -> dict[str, str]:
    """The profile fields as stripped text; a field the form lacks is skipped when `partial`, else empty
    (an unticked checkbox is not sent)."""
    return {name: "" if form.get(name) is None else str(form.get(name)).strip()
            for name in PROFILE_FIELDS if not (partial and form.get(name) is None)}


def read_new_profile(form: Mapping[str, object]) -> dict[str, Any]:
    """read_profile for a new tenant: a field the form lacks (or leaves unset) takes its default."""
    return read_profile({**NEW_TENANT_DEFAULTS, **{k: v for k, v in form.items() if v is not None}})


def read_profile(form: Mapping[str, object], country: str = "DE", partial: bool = False) -> dict[str, Any]:
    """Validated, normalised profile values; ProfileInvalid names every bad field.

    `partial` checks and returns only the fields the form has (the console's and the CLI's edits); the rules
    that join two fields (find_joint_problems) then wait for check_profile on the merged profile.
    """
    raw = read_fields(form, partial)
    values: dict[str, Any] = {}
    problems: dict[str, str | None] = {}
    text_rules: dict[str, tuple[int, Check | None, bool]] = {
        "company": (200, None, True), "street": (200, None, True), "city": (100, None, True),
        "email": (200, is_valid_email, True),
        "postal_code": (10, (POSTAL_DE if country == "DE" else POSTAL_OTHER).fullmatch, True),
        "tax_number": (40, stnr.is_valid, False),  # regional (217/5937/0123) or ELSTER's 13 digits, kept as typed
        "business_phone": (30, BUSINESS_PHONE.fullmatch, False)}
    for name, (limit, check, required) in text_rules.items():
        if name in raw:
            problems[name] = find_field_problem(raw[name], limit, check, required)
            values[name] = raw[name] or None
    if "vat_id" in raw:
        values["vat_id"], problems["vat_id"] = read_vat_id(raw["vat_id"])
    iban, bic = normalise_code(raw.get("iban")), normalise_code(raw.get("bic"))
    if "iban" in raw:
        problems["iban"], values["iban"] = find_iban_problem(iban), iban
    if "bic" in raw:
        problems["bic"], values["bic"] = find_bic_problem(bic), bic or None
    problems.update(read_numbers(raw, values))
    if not partial:
        joint = find_joint_problems(values["tax_number"], values["vat_id"], values["iban"], values["bic"])
        problems.update({name: problems.get(name) or problem for name, problem in joint.items()})
    if "small_business" in raw:
        values["small_business"] = raw["small_business"] in TICKED
    errors = {name: problem for name, problem in problems.items() if problem}
    if errors:
        raise ProfileInvalid(errors)
    return values


def read_numbers(raw: Mapping[str, str], values: dict[str, Any]) -> dict[str, str | None]:
    """Rates, days, number format and language of `raw` into `values`; returns their problems."""
    problems: dict[str, str | None] = {}
    if "hourly_rate" in raw:
        rate = read_amount(raw["hourly_rate"]) if raw["hourly_rate"] else None
        problems["hourly_rate"] = "range" if raw["hourly_rate"] and (rate is None or not 0 <= rate <= 1000) else None
        values["hourly_rate"] = rate
    if "vat_rate" in raw:
        values["vat_rate"] = read_amount(raw["vat_rate"])
        problems["vat_rate"] = None if values["vat_rate"] in VAT_RATES else "choice"
    if "payment_terms_days" in raw:
        terms = int(raw["payment_terms_days"]) if re.fullmatch(r"\d{1,3}", raw["payment_terms_days"]) else -1
        problems["payment_terms_days"], values["payment_terms_days"] = None if 0 <= terms <= 90 else "range", terms
    if "retention_days" in raw:
        days = int(raw["retention_days"] or 30) if re.fullmatch(r"\d{0,2}", raw["retention_days"]) else 0
        problems["retention_days"], values["retention_days"] = None if 1 <= days <= 30 else "range", days
    if "number_format" in raw:
        problems["number_format"] = None if is_valid_number_format(raw["number_format"]) else "format"
        values["number_format"] = raw["number_format"]
    if "language" in raw:
        problems["language"] = None if raw["language"] in ("de", "en") else "choice"
        values["language"] = raw["language"]
    return problems


def find_joint_problems(tax_number: str | None, vat_id: str | None, iban: str | None,
                        bic: str | None) -> dict[str, str]:
    """The rules joining two fields: §14 UStG wants a tax number or a VAT id; the BIC must be the IBAN's bank's."""
    problems = {}
    if not (tax_number or vat_id):
        problems["tax_number"] = "required"
    if find_bic_problem(bic, iban) == "mismatch":
        problems["bic"] = "mismatch"
    return problems


def check_profile(tax_number: str | None, vat_id: str | None, iban: str | None, bic: str | None) -> None:
    """find_joint_problems on a whole (merged) profile; raises ProfileInvalid."""
    errors = find_joint_problems(tax_number, vat_id, iban, bic)
    if errors:
        raise ProfileInvalid(errors)
