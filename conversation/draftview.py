"""How a draft looks in the chat: what changed, customer, lines, totals, the one open question, preview link."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from conversation.changes import format_quantity
from conversation.texts import render_text
from documents.amounts import TaxMode, Totals
from documents.einvoice.xrechnung import Gap
from documents.labels import UNITS, locale_of
from documents.pdf.formatting import format_money
from extraction.models import InvoiceFields
from whatsapp.client import MAX_BODY


class DraftAction(str, enum.Enum):
    """The reply buttons of a draft message; the button id is `draft:<action>:<draft id>`."""

    CREATE = "create"
    CHANGE = "change"
    DISCARD = "discard"


def button_id(action: DraftAction, draft_id: str) -> str:
    return f"draft:{action.value}:{draft_id}"


def parse_button_id(value: str | None) -> tuple[DraftAction, str] | None:
    """(action, draft id) of a pressed draft button, None for anything else."""
    parts = (value or "").split(":")
    if len(parts) != 3 or parts[0] != "draft" or parts[1] not in {a.value for a in DraftAction}:
        return None
    return DraftAction(parts[1]), parts[2]


def draft_buttons(draft_id: str, language: str, complete: bool) -> list[tuple[str, str]]:
    """Erstellen, Ändern, Verwerfen; while a question is open only Verwerfen (the answer is the change)."""
    actions = list(DraftAction) if complete else [DraftAction.DISCARD]
    return [(button_id(a, draft_id), render_text(f"button_{a.value}", language)) for a in actions]


@dataclass(frozen=True)
class Question:
    """The one thing the bot asks next, as a text key and its values."""

    key: str
    values: dict[str, object] = field(default_factory=dict)


def find_question(fields: InvoiceFields, missing_prices: list[str], gaps: list[Gap], language: str) -> Question | None:
    """What an invoice still needs, most basic first: customer, items, prices, VAT id, XRechnung details."""
    if fields.customer is None:
        return Question("question_customer")
    if not fields.items:
        return Question("question_items")
    if missing_prices:
        return Question("question_prices", {"items": ", ".join(missing_prices), "example": missing_prices[0]})
    customer = fields.customer.name
    if fields.reverse_charge and not fields.customer.vat_id:  # §14a UStG, EN 16931 BR-AE-02
        return Question("question_vat_id", {"customer": customer})
    if gaps:
        lines = [render_text(f"gap_{gap.value}", language, customer=customer, leitweg_id=fields.customer.leitweg_id)
                 for gap in gaps]
        return Question("question_xrechnung", {"customer": customer, "gaps": "\n".join(lines)})
    return None


def _item_lines(fields: InvoiceFields, totals: Totals | None, language: str) -> list[str]:
    money = locale_of(language)
    units = UNITS.get(language, UNITS["de"])
    lines = []
    for index, item in enumerate(fields.items):
        quantity = f"{format_quantity(item.quantity, language)} {units.get(item.unit.value, item.unit.value)}"
        if totals is None or item.unit_price is None:
            key, price, net = "draft_line_unpriced", "", ""
        else:
            line = totals.lines[index]
            key, price, net = "draft_line", format_money(line.unit_price, money), format_money(line.net, money)
        lines.append(render_text(key, language, quantity=quantity, description=item.description, price=price,
                                 net=net))
    return lines


def _totals_line(totals: Totals, language: str) -> str:
    money = locale_of(language)
    if totals.tax_mode is not TaxMode.STANDARD:
        return render_text("draft_totals_no_vat", language, gross=format_money(totals.gross, money))
    return render_text("draft_totals", language, net=format_money(totals.net, money),
                       vat=format_money(totals.vat, money), gross=format_money(totals.gross, money))


def compose_draft(fields: InvoiceFields, totals: Totals | None, language: str, *, changes: list[str] | None = None,
                  unchanged: bool = False, from_catalogue: list[str] | None = None, question: Question | None = None,
                  link: str | None = None) -> str:
    """The body of a draft message, within WhatsApp's 1,024 characters (lines are cut first, then changes)."""
    head: list[str] = []
    if unchanged:
        head.append(render_text("draft_unchanged", language))
    if changes:
        head += [render_text("draft_changed", language)] + [f"• {c}" for c in changes] + [""]
    customer = fields.customer
    title = (render_text("draft_title", language, customer=customer.name) if customer
             else render_text("draft_title_no_customer", language))
    address = ", ".join(p for p in (customer.street, " ".join(filter(None, (customer.postal_code, customer.city))))
                        if p) if customer else ""
    lines = _item_lines(fields, totals, language)
    tail: list[str] = []
    if totals is not None:
        tail.append(_totals_line(totals, language))
    if from_catalogue:
        tail.append(render_text("draft_from_catalogue", language, items=", ".join(from_catalogue)))
    if question is not None:
        tail += ["", render_text(question.key, language, **question.values)]
    else:
        tail += ["", render_text("draft_confirm", language)]
    if link:
        tail.append(render_text("draft_preview", language, link=link))
    return fit_body(head, [title] + ([address] if address else []), lines, tail, language)


def fit_body(head: list[str], title: list[str], lines: list[str], tail: list[str], language: str) -> str:
    """Join the parts; drop item lines from the end (saying how many), then change lines, until it fits."""
    shown, hidden = list(lines), 0
    while True:
        more = [render_text("draft_more", language, count=hidden)] if hidden else []
        body = "\n".join(head + title + shown + more + tail).strip()
        if len(body) <= MAX_BODY:
            return body
        if shown:
            shown.pop()
            hidden += 1
        elif len(head) > 2:
            del head[-2]  # the last change line; the heading and the blank line stay
        else:
            return body[:MAX_BODY - 1] + "…"
