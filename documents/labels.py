"""Invoice label texts and unit names, keyed by language ("de" default, "en")."""
from __future__ import annotations

from documents.invoice import InvoiceDocument


def language_of(doc: InvoiceDocument) -> str:
    """The invoice language: the tenant's when known ("de", "en"), else German."""
    return doc.language if doc.language in LABELS else "de"


LABELS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Rechnung",
        "invoice_number": "Rechnungsnummer",
        "issue_date": "Rechnungsdatum",
        "service_date": "Leistungsdatum",
        "service_date_is_issue_date": "Leistungsdatum entspricht Rechnungsdatum.",
        "due_date": "Fällig am",
        "phone": "Telefon",
        "email": "E-Mail",
        "intro": "Vielen Dank für Ihren Auftrag. Wir berechnen Ihnen folgende Leistungen:",
        "position": "Pos.",
        "description": "Beschreibung",
        "quantity": "Menge",
        "unit": "Einheit",
        "unit_price": "Einzelpreis",
        "vat_rate": "USt.",
        "line_net": "Gesamt",
        "percent": "{}\u00a0%",
        "subtotal": "Zwischensumme",
        "discount": "Rabatt {percent}",
        "net": "Nettobetrag",
        "vat": "USt. {percent}",
        "vat_on": "USt. {percent} auf {net}",
        "gross": "Gesamtbetrag",
        "small_business": "Gemäß § 19 UStG wird keine Umsatzsteuer berechnet.",
        "reverse_charge": "Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG).",
        "buyer_vat_id": "USt-IdNr. des Leistungsempfängers: {}",
        "leitweg_id": "Leitweg-ID",
        "payment": "Bitte überweisen Sie den Gesamtbetrag von {gross} bis zum {due} ohne Abzug auf das unten "
                   "genannte Konto. Bitte geben Sie als Verwendungszweck die Rechnungsnummer {number} an.",
        "account_holder": "Kontoinhaber",
        "iban": "IBAN",
        "bic": "BIC",
        "labour_share": "Im Rechnungsbetrag enthaltene Arbeits- und Fahrtkosten (§ 35a EStG): "
                        "{net} netto, {gross} brutto.",
        "labour_transfer": "Bitte zahlen Sie per Überweisung: Nur unbar gezahlte Handwerkerleistungen sind nach "
                           "§ 35a EStG steuerlich begünstigt.",
        "retention": "Sie sind gesetzlich verpflichtet, diese Rechnung, einen Zahlungsbeleg oder eine andere "
                     "beweiskräftige Unterlage zwei Jahre lang aufzubewahren (§ 14 Abs. 4 Nr. 9, § 14b Abs. 1 "
                     "Satz 5 UStG). Die Frist beginnt mit dem Schluss des Kalenderjahres, in dem die Rechnung "
                     "ausgestellt wurde.",
        "tax_number": "Steuernummer",
        "vat_id": "USt-IdNr.",
        "page": "Seite",
        "page_of": "von",
        "zero_rate": "Positionen mit 0 % USt.: Nullsteuersatz gemäß § 12 Abs. 3 UStG (Lieferung und Installation "
                     "von Photovoltaikanlagen).",
        "girocode": "Bezahlen per Banking-App: GiroCode scannen",
        "remittance": "Rechnung {number}",
        "draft_title": "Rechnungsentwurf",
        "draft_watermark": "ENTWURF",
        "draft_note": "Entwurf – keine gültige Rechnung. Die Rechnungsnummer wird erst beim Erstellen vergeben.",
        "draft_payment": "Bitte überweisen Sie den Gesamtbetrag von {gross} bis zum {due} ohne Abzug auf das unten "
                         "genannte Konto.",
        "cancellation_title": "Stornorechnung",
        "cancellation_of": "Storno zur Rechnung {number} vom {date}",
        "cancelled_invoice": "Stornierte Rechnung",
        "cancellation_intro": "Hiermit stornieren wir die Rechnung {number} vom {date} vollständig. Alle Beträge "
                              "werden mit umgekehrtem Vorzeichen aufgeführt:",
        "cancellation_payment": "Die Rechnung {number} ist damit aufgehoben. Haben Sie den Betrag bereits bezahlt, "
                                "erstatten wir ihn auf Ihr Konto.",
    },
    "en": {
        "title": "Invoice",
        "invoice_number": "Invoice number",
        "issue_date": "Invoice date",
        "service_date": "Date of service",
        "service_date_is_issue_date": "Date of service equals invoice date.",
        "due_date": "Due date",
        "phone": "Phone",
        "email": "Email",
        "intro": "Thank you for your order. We invoice the following services:",
        "position": "No.",
        "description": "Description",
        "quantity": "Qty",
        "unit": "Unit",
        "unit_price": "Unit price",
        "vat_rate": "VAT",
        "line_net": "Amount",
        "percent": "{}%",
        "subtotal": "Subtotal",
        "discount": "Discount {percent}",
        "net": "Net amount",
        "vat": "VAT {percent}",
        "vat_on": "VAT {percent} on {net}",
        "gross": "Total amount",
        "small_business": "No VAT is charged under § 19 UStG (small business exemption).",
        "reverse_charge": "Reverse charge: the recipient of the service is liable for VAT (§ 13b UStG).",
        "buyer_vat_id": "Customer VAT ID: {}",
        "leitweg_id": "Leitweg-ID",
        "payment": "Please transfer the total amount of {gross} by {due} without deduction to the account below, "
                   "quoting the invoice number {number} as payment reference.",
        "account_holder": "Account holder",
        "iban": "IBAN",
        "bic": "BIC",
        "labour_share": "Labour and travel costs included in the invoice amount (§ 35a EStG): "
                        "{net} net, {gross} gross.",
        "labour_transfer": "Please pay by bank transfer: only cashless payments for craftsman services qualify for "
                           "the tax reduction under § 35a EStG.",
        "retention": "You are legally obliged to keep this invoice, a payment receipt or other conclusive document "
                     "for two years (§ 14 (4) no. 9, § 14b (1) sentence 5 UStG), starting at the end of the calendar "
                     "year in which the invoice was issued.",
        "tax_number": "Tax number",
        "vat_id": "VAT ID",
        "page": "Page",
        "page_of": "of",
        "zero_rate": "Items at 0% VAT: zero rate under § 12 (3) UStG (supply and installation of photovoltaic "
                     "systems).",
        "girocode": "Pay with your banking app: scan the GiroCode",
        "remittance": "Invoice {number}",
        "draft_title": "Draft invoice",
        "draft_watermark": "DRAFT",
        "draft_note": "Draft – not a valid invoice. The invoice number is assigned when the invoice is issued.",
        "draft_payment": "Please transfer the total amount of {gross} by {due} without deduction to the account "
                         "below.",
        "cancellation_title": "Cancellation invoice",
        "cancellation_of": "Cancellation of invoice {number} dated {date}",
        "cancelled_invoice": "Cancelled invoice",
        "cancellation_intro": "We hereby cancel invoice {number} dated {date} in full. All amounts are shown with "
                              "the opposite sign:",
        "cancellation_payment": "Invoice {number} is thereby void. If you have already paid it, we will refund the "
                                "amount to your account.",
    },
}

UNITS: dict[str, dict[str, str]] = {
    "de": {"h": "Std.", "piece": "Stk.", "m": "m", "m2": "m²", "m3": "m³", "km": "km", "kg": "kg", "l": "l",
           "day": "Tag(e)", "lump_sum": "pauschal"},
    "en": {"h": "hrs", "piece": "pcs", "m": "m", "m2": "m²", "m3": "m³", "km": "km", "kg": "kg", "l": "l",
           "day": "day(s)", "lump_sum": "lump sum"},
}

LOCALES: dict[str, str] = {"de": "de_DE", "en": "en_GB"}


def locale_of(language: str) -> str:
    """The Babel locale of a tenant's language; German for any other."""
    return LOCALES.get(language, LOCALES["de"])
