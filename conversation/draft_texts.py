"""Reply texts of drafts, corrections, questions and the HILFE/STATUS commands: German, English per tenant."""
from __future__ import annotations

DRAFT_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "button_create": "Erstellen",
        "button_change": "Ändern",
        "button_discard": "Verwerfen",
        "draft_footer": "Korrekturen einfach schreiben oder sagen",
        "draft_title": "📝 Entwurf für {customer}",
        "draft_title_no_customer": "📝 Entwurf (Kunde fehlt noch)",
        "draft_line": "• {quantity} {description} à {price} = {net}",
        "draft_line_unpriced": "• {quantity} {description} – Preis fehlt",
        "draft_more": "… und {count} weitere Positionen (siehe Vorschau)",
        "draft_totals": "Netto {net} · MwSt. {vat} · Brutto {gross}",
        "draft_totals_no_vat": "Gesamt {gross} (ohne MwSt.)",
        "draft_from_catalogue": "Preis aus deiner Preisliste: {items}",
        "draft_preview": "Vorschau: {link}",
        "draft_confirm": "Passt alles? Dann „Erstellen“ (oder OK) – erst dann bekommt die Rechnung ihre Nummer.",
        "draft_changed": "✏️ Geändert:",
        "draft_unchanged": "Ich habe keine Änderung erkannt – der Entwurf ist unverändert.",
        "question_customer": "❓ Für wen ist die Rechnung? Schick mir bitte Name und Adresse des Kunden.",
        "question_items": "❓ Was hast du gemacht? Nenn mir bitte Arbeitszeit und Material mit Menge und Preis.",
        "question_prices": "❓ Welchen Preis hat: {items}? Sag oder schreib z. B. „{example} 25 Euro“.",
        "question_vat_id": "❓ Für die Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG) brauche ich die "
                           "USt-IdNr. von {customer}. Wie lautet sie?",
        "question_xrechnung": "❓ Für die XRechnung an {customer} fehlt noch:\n{gaps}",
        "change_prompt": "Was soll ich ändern? Schreib oder sprich es einfach, z. B. „3 Stunden statt 2“ oder "
                         "„der Kunde heißt Meier mit ei“.",
        "draft_discarded": "🗑️ Entwurf verworfen und gelöscht – es wurde keine Rechnungsnummer vergeben. "
                           "Löschbeleg: {receipt}",
        "draft_already_issued": "Dieser Entwurf ist schon die Rechnung {number}.",
        "draft_already_discarded": "Dieser Entwurf wurde schon verworfen.",
        "no_draft": "Es gibt gerade keinen offenen Entwurf. Schick mir eine Sprachnachricht oder schreib mir, was "
                    "du gemacht hast, dann mache ich einen.",
        "help": "Ich mache aus deiner Sprachnachricht (oder Textnachricht) eine Rechnung. Sag nach dem Auftrag z. B.: "
                "„Rechnung für Thomas Müller, Lindenstraße 12, 50674 Köln. Drei Stunden Arbeit, ein Waschbecken "
                "für 129 Euro.“\nDu bekommst erst einen Entwurf: korrigieren kannst du ihn einfach per Nachricht, "
                "mit „Erstellen“ (oder OK) wird er zur Rechnung.\n\nBefehle: STATUS (offene Entwürfe und "
                "Rechnungen), ABBRECHEN (Entwurf verwerfen), STORNO RE-… (Rechnung stornieren), KONTO (Link zu "
                "deinem Konto), DATEN (alle deine "
                "Daten), LÖSCHEN (alle Inhalte löschen).",
        "status_empty": "Keine offenen Entwürfe und keine Rechnungen, die noch auf das Herunterladen warten.",
        "status_drafts": "📝 Offene Entwürfe:",
        "status_invoices": "📄 Rechnungen, die noch nicht heruntergeladen sind:",
        "status_line": "• {customer}: {gross}",
        "status_unpriced": "Preis fehlt",
    },
    "en": {
        "button_create": "Create",
        "button_change": "Change",
        "button_discard": "Discard",
        "draft_footer": "Just type or say a correction",
        "draft_title": "📝 Draft for {customer}",
        "draft_title_no_customer": "📝 Draft (customer still missing)",
        "draft_line": "• {quantity} {description} at {price} = {net}",
        "draft_line_unpriced": "• {quantity} {description} – price missing",
        "draft_more": "… and {count} more lines (see the preview)",
        "draft_totals": "Net {net} · VAT {vat} · Gross {gross}",
        "draft_totals_no_vat": "Total {gross} (no VAT)",
        "draft_from_catalogue": "Price from your price list: {items}",
        "draft_preview": "Preview: {link}",
        "draft_confirm": "All correct? Then \"Create\" (or OK) – only then the invoice gets its number.",
        "draft_changed": "✏️ Changed:",
        "draft_unchanged": "I did not find a change – the draft is as it was.",
        "question_customer": "❓ Who is the invoice for? Please send me the customer's name and address.",
        "question_items": "❓ What did you do? Please tell me the hours and materials with quantity and price.",
        "question_prices": "❓ What is the price of: {items}? Say or type e.g. \"{example} 25 euros\".",
        "question_vat_id": "❓ For a reverse-charge invoice (§ 13b UStG) I need the VAT ID of {customer}. What is it?",
        "question_xrechnung": "❓ For the XRechnung to {customer} I still need:\n{gaps}",
        "change_prompt": "What should I change? Just type or say it, e.g. \"3 hours instead of 2\" or \"the "
                         "customer's name is Meyer with y\".",
        "draft_discarded": "🗑️ Draft discarded and deleted – no invoice number was used. Deletion receipt: {receipt}",
        "draft_already_issued": "This draft is already invoice {number}.",
        "draft_already_discarded": "This draft was already discarded.",
        "no_draft": "There is no open draft right now. Send me a voice note or type what you did and I will make "
                    "one.",
        "help": "I turn your voice note (or text message) into an invoice. After a job say e.g.: \"Invoice for John "
                "Carter, 21 Baker Street, 10115 Berlin. Three hours of labour, one radiator valve for 34 euros.\"\n"
                "You get a draft first: correct it by simply sending a message; \"Create\" (or OK) turns it into "
                "the invoice.\n\nCommands: STATUS (open drafts and invoices), CANCEL (discard a draft), STORNO RE-… "
                "(cancel an invoice), ACCOUNT "
                "(link to your account), EXPORT (all your data), DELETE (delete all content).",
        "status_empty": "No open drafts and no invoices waiting to be downloaded.",
        "status_drafts": "📝 Open drafts:",
        "status_invoices": "📄 Invoices not downloaded yet:",
        "status_line": "• {customer}: {gross}",
        "status_unpriced": "price missing",
    },
}
