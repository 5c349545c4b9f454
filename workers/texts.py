"""WhatsApp reply texts: German by default, English per tenant."""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency

from documents.labels import LOCALES

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "invoice_ready": "✅ Rechnung {number} für {customer} über {gross} ist fertig:\n{link}\n\n"
                         "Der Link gilt {days} Tage. Nach dem Herunterladen löschen wir alle Inhalte.",
        "nothing_invoiceable": "Ich habe in deiner Sprachnachricht keinen Auftrag gefunden, aus dem ich eine "
                               "Rechnung machen kann. Sag mir bitte: für wen (Name und Adresse), was du gemacht "
                               "hast, wie viele Stunden und welches Material zu welchem Preis. Beispiel: "
                               "„Rechnung für Thomas Müller, Lindenstraße 12, 50674 Köln. Drei Stunden Arbeit, "
                               "ein Waschbecken für 129 Euro.“",
        "price_missing": "Mir fehlt noch der Preis für: {items}. Schick mir bitte die Sprachnachricht noch einmal "
                         "mit den Preisen, dann mache ich die Rechnung.",
        "apology": "Entschuldige, bei deiner Sprachnachricht ist etwas schiefgegangen und ich konnte keine Rechnung "
                   "erstellen. Bitte schick sie in ein paar Minuten noch einmal.",
        "hint": "Schick mir eine Sprachnachricht nach dem Auftrag: Kunde mit Adresse, was gemacht wurde, Stunden, "
                "Material und Preise. Ich mache daraus die Rechnung.",
    },
    "en": {
        "invoice_ready": "✅ Invoice {number} for {customer}, {gross}, is ready:\n{link}\n\n"
                         "The link is valid for {days} days. Once downloaded, all content is deleted.",
        "nothing_invoiceable": "I could not find a job to invoice in your voice note. Please tell me: for whom "
                               "(name and address), what you did, how many hours and which materials at what "
                               "price. Example: \"Invoice for John Carter, 21 Baker Street, 10115 Berlin. Three "
                               "hours of labour, one radiator valve for 34 euros.\"",
        "price_missing": "I still need the price for: {items}. Please send the voice note again with the prices "
                         "and I will make the invoice.",
        "apology": "Sorry, something went wrong with your voice note and I could not make an invoice. Please "
                   "send it again in a few minutes.",
        "hint": "Send me a voice note after the job: customer with address, what was done, hours, materials and "
                "prices. I will turn it into an invoice.",
    },
}


def format_money(amount: Decimal, language: str) -> str:
    """The same money format as on the invoice."""
    return format_currency(amount, "EUR", locale=LOCALES.get(language, LOCALES["de"]))


def render_text(key: str, language: str, **values: object) -> str:
    """The reply text `key` in the tenant's language (German when unknown)."""
    return TEXTS.get(language, TEXTS["de"])[key].format(**values)
