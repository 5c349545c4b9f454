"""The extraction contract (DESIGN section 5): what the model must return."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from stdnum.de import leitweg
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as NumberInvalid

MAX_UNIT_PRICE = Decimal("100000")
MAX_QUANTITY = Decimal("10000")
# What XML 1.0 cannot carry (C0 controls but tab, line feed and carriage return; lone surrogates; U+FFFE/U+FFFF),
# and DEL and the C1 controls, invisible on the page: each run, with the spaces around it, becomes one space.
CONTROL = re.compile(r" *[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]+ *")


def clean_text(value: Any) -> Any:
    """A model's string (or list of strings) without control characters, so that the invoice's XML can carry it;
    anything else as it is. Runs before the type checks of every text field of the contract."""
    if isinstance(value, str):
        return CONTROL.sub(" ", value).strip() if CONTROL.search(value) else value
    if isinstance(value, list):
        return [clean_text(item) for item in value]
    return value


class Unit(str, Enum):
    HOUR = "h"
    PIECE = "piece"
    METRE = "m"
    SQUARE_METRE = "m2"
    CUBIC_METRE = "m3"
    KILOMETRE = "km"
    KILOGRAM = "kg"
    LITRE = "l"
    DAY = "day"
    LUMP_SUM = "lump_sum"


class ItemKind(str, Enum):
    LABOR = "labor"
    MATERIAL = "material"
    TRAVEL = "travel"
    OTHER = "other"


class Intent(str, Enum):
    """What the words were, judged against the open draft (DESIGN section 5)."""

    NEW_JOB = "new_job"
    CORRECTION = "correction"  # of the current draft; an answer to the bot's question counts as one


class CatalogueEntry(BaseModel):
    """One entry of the tenant's price list, as the model gets it for context."""

    description: str
    unit: Unit
    unit_price: Decimal
    vat_rate: Decimal | None = None


class CleanText(BaseModel):
    """The base of the contract's models: control characters go from every text field before it is checked."""

    @field_validator("*", mode="before")
    @classmethod
    def clean_controls(cls, value: Any) -> Any:
        return clean_text(value)


class Customer(CleanText):
    """The invoice recipient as spoken."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="Person or company name as spoken, without titles like Herr/Frau/Mister.")
    company: str | None = Field(None, description="Company name if the customer is a business, else null.")
    street: str | None = Field(None, description="Street and house number, German order: 'Lindenstraße 12'.")
    postal_code: str | None = Field(None, description="Postal code as digits, e.g. '04109' (keep leading zeros).")
    city: str | None = Field(None, description="City.")
    country: str = Field("DE", description="ISO 3166-1 alpha-2 country code; 'DE' unless another is said.")
    email: str | None = Field(None, description="E-mail address if spoken, else null.")
    vat_id: str | None = Field(
        None, description="The customer's VAT ID (USt-IdNr., e.g. 'DE123456789') if said, else null; "
                          "needed for reverse charge.",
    )
    is_business: bool = Field(
        False, description="True for companies (GmbH, AG, KG, e.K., ...), false for private persons."
    )
    leitweg_id: str | None = Field(
        None, description="The Leitweg-ID of a public-sector customer (Behörde, Stadt, Schule) if said, digits and "
                          "letters joined by hyphens as spoken, e.g. '04011000-1234512345-06'; else null.",
    )

    @field_validator("name")
    @classmethod
    def check_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("customer.name must not be empty; set customer to null if no customer was said")
        return value.strip()

    @field_validator("leitweg_id")
    @classmethod
    def check_leitweg_id(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        compact = leitweg.compact("".join(value.split()))  # spaces between spoken parts go too
        try:
            leitweg.validate(compact)
        except InvalidChecksum:  # well formed: documents asks the speaker back (Gap.LEITWEG_ID)
            pass
        except NumberInvalid as exc:
            raise ValueError("leitweg_id must look like '04011000-1234512345-06' (2-12 digits starting with the "
                             "state code 01-16 or 99, an optional part of letters and digits, 2 check digits, "
                             f"joined by hyphens), got {value!r}") from exc
        return compact


class Item(CleanText):
    """One invoice line as spoken; the code computes all amounts."""

    model_config = ConfigDict(extra="ignore")

    description: str = Field(
        description="Short line text in the speaker's language, e.g. 'Arbeitszeit', 'Waschbecken'."
    )
    quantity: Decimal = Field(description="Quantity, > 0. 'drei Stunden' -> 3, 'zweieinhalb' -> 2.5.")
    unit: Unit = Field(description="Unit: h, piece, m, m2, m3, km, kg, l, day or lump_sum (pauschal).")
    unit_price: Decimal | None = Field(
        None, description="Price per unit in euros as spoken; null if no price was said. Never compute totals."
    )
    kind: ItemKind = Field(description="labor (work time), material, travel (Anfahrt) or other.")
    vat_rate: Decimal | None = Field(
        None,
        description="VAT rate in percent only if explicitly said for this item (e.g. 0 for photovoltaics), else null.",
    )

    @field_validator("description")
    @classmethod
    def check_description(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("item description must not be empty")
        return value.strip()

    @field_validator("quantity")
    @classmethod
    def check_quantity(cls, value: Decimal) -> Decimal:
        if not Decimal(0) < value <= MAX_QUANTITY:
            raise ValueError(f"quantity must be > 0 and <= {MAX_QUANTITY}, got {value}")
        return value

    @field_validator("unit_price")
    @classmethod
    def check_unit_price(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not Decimal(0) <= value <= MAX_UNIT_PRICE:
            raise ValueError(f"unit_price must be between 0 and {MAX_UNIT_PRICE} euros, got {value}")
        return value

    @field_validator("vat_rate")
    @classmethod
    def check_vat_rate(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value not in {Decimal(0), Decimal(7), Decimal(19)}:
            raise ValueError(f"vat_rate must be 0, 7, 19 or null, got {value}")
        return value


class InvoiceFields(CleanText):
    """Everything needed for an invoice that the speaker said in the voice note."""

    model_config = ConfigDict(extra="ignore")

    customer: Customer | None = Field(
        description="The customer; null if no invoiceable job was described."
    )
    service_date: dt.date | None = Field(
        None, description="Date of the service (ISO 8601) if said ('heute' = the given current date), else null."
    )
    job_title: str | None = Field(None, description="A short title of the job, e.g. 'Austausch Waschbecken im Bad'.")
    items: list[Item] = Field(default_factory=list, description="Invoice lines in the order spoken.")
    prices_include_vat: bool = Field(
        False, description="True only if the speaker said prices include VAT (brutto/inkl. MwSt)."
    )
    discount_percent: Decimal | None = Field(
        None, description="Discount on the whole invoice in percent if said ('5 Prozent Rabatt' -> 5), else null."
    )
    reverse_charge: bool = Field(False, description="True only if reverse charge (§13b UStG) was said.")
    notes: str | None = Field(None, description="Anything else the customer should read on the invoice, else null.")
    missing: list[str] = Field(
        default_factory=list,
        description="What the invoice needs but the speaker did not say (e.g. 'unit_price for X').",
    )
    intent: Intent = Field(
        Intent.NEW_JOB,
        description="'correction' if the words change or complete the current draft (an answer to the bot's "
                    "question counts); 'new_job' if they describe another job. Without a current draft: new_job.",
    )

    @field_validator("discount_percent")
    @classmethod
    def check_discount(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and not Decimal(0) <= value <= Decimal(100):
            raise ValueError(f"discount_percent must be between 0 and 100, got {value}")
        return value

    @property
    def is_invoiceable(self) -> bool:
        return self.customer is not None and bool(self.items)
