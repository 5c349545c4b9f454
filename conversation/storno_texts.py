"""Reply texts of cancellations (STORNO): German, English per tenant. Never "Gutschrift" (self-billing in German VAT
law): a cancellation is a "Stornorechnung"."""
from __future__ import annotations

STORNO_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "cancellation_ready": "↩️ Stornorechnung {number} zur Rechnung {cancelled} vom {date} ({customer}, {gross}) ist "
                              "fertig:\n{link}\n\nDer Link gilt {days} Tage. Nach dem Herunterladen löschen wir alle "
                              "Inhalte. Die Rechnung {cancelled} ist damit storniert.",
        "cancellation_draft": "Hier kommt die korrigierte Rechnung als Entwurf, gefüllt wie {cancelled}: Sag oder "
                              "schreib, was anders sein soll, dann „Erstellen“.",
        "storno_no_number": "Welche Rechnung soll ich stornieren? Schreib STORNO und die Rechnungsnummer, z. B. "
                            "„STORNO RE-2026-0042“. Einen Entwurf ohne Nummer verwirfst du mit ABBRECHEN.",
        "storno_unknown": "Eine Rechnung mit dieser Nummer finde ich bei dir nicht. Bitte prüf die Nummer (sie "
                          "steht oben rechts auf der Rechnung) und schreib z. B. „STORNO RE-2026-0042“. Es wurde "
                          "nichts storniert.",
        "storno_already_cancelled": "Die Rechnung {number} ist schon storniert – eine Rechnung kann nur einmal "
                                    "storniert werden. Es wurde nichts geändert.",
        "storno_of_cancellation": "{number} ist eine Stornorechnung; sie kann nicht selbst storniert werden. Es wurde "
                                  "nichts geändert.",
        "storno_send_pdf": "Die Inhalte der Rechnung {number} haben wir nach dem Herunterladen (oder nach Ablauf der "
                           "Frist) gelöscht. Zum Stornieren schick mir bitte die PDF-Datei der Rechnung hier im Chat "
                           "zurück, mit der Bildunterschrift „Storno“. Es wurde nichts storniert.",
        "storno_terms_changed": "Die Rechnung {number} kann ich nicht automatisch stornieren: Seit sie erstellt "
                                "wurde, haben sich die Steuerangaben in deinem Profil geändert (z. B. der "
                                "Umsatzsteuersatz). Bitte wende dich an den Support. Es wurde nichts storniert.",
        "document_help": "📄 Dokumente brauche ich nur zum Stornieren: Ist das die PDF einer Rechnung, die ich für "
                         "dich erstellt habe, schreib jetzt STORNO, dann storniere ich sie (oder schick sie mit der "
                         "Bildunterschrift „Storno“). Aufträge für neue Rechnungen schickst du als Sprachnachricht "
                         "oder Text. Das Dokument habe ich nicht gespeichert.",
        "storno_pdf_unknown": "Die Rechnung {number} aus dieser PDF finde ich bei dir nicht. Es wurde nichts "
                              "storniert.",
        "storno_not_pdf": "Das Dokument ist keine PDF-Datei. Zum Stornieren schick mir die PDF der Rechnung so, wie "
                          "du sie heruntergeladen hast, mit der Bildunterschrift „Storno“. Es wurde nichts storniert.",
        "storno_no_einvoice": "In dieser PDF steckt keine E-Rechnung (ZUGFeRD/Factur-X), wie ich sie erstelle. Zum "
                              "Stornieren brauche ich die PDF der Rechnung so, wie du sie heruntergeladen hast. Es "
                              "wurde nichts storniert.",
        "storno_foreign": "Diese Rechnung ist nicht von dir: Der Verkäufer darauf ist ein anderer als in deinem "
                          "Profil. Ich kann nur Rechnungen stornieren, die ich für dich erstellt habe. Es wurde "
                          "nichts storniert.",
        "storno_altered": "Diese PDF stimmt nicht mit der Rechnung {number} überein, die ich für dich erstellt habe: "
                          "Ihre E-Rechnung wurde verändert. Bitte schick die unveränderte PDF, so wie du sie "
                          "heruntergeladen hast. Es wurde nichts storniert.",
    },
    "en": {
        "cancellation_ready": "↩️ Cancellation invoice {number} for invoice {cancelled} dated {date} ({customer}, "
                              "{gross}) is ready:\n{link}\n\nThe link is valid for {days} days. Once downloaded, all "
                              "content is deleted. Invoice {cancelled} is now cancelled.",
        "cancellation_draft": "Here is the corrected invoice as a draft, filled in like {cancelled}: say or type what "
                              "should change, then \"Create\".",
        "storno_no_number": "Which invoice should I cancel? Send STORNO and the invoice number, e.g. \"STORNO "
                            "RE-2026-0042\". A draft has no number yet: discard it with CANCEL.",
        "storno_unknown": "I cannot find an invoice of yours with this number. Please check the number (top right "
                          "on the invoice) and send e.g. \"STORNO RE-2026-0042\". Nothing was cancelled.",
        "storno_already_cancelled": "Invoice {number} is already cancelled – an invoice can be cancelled only once. "
                                    "Nothing was changed.",
        "storno_of_cancellation": "{number} is a cancellation invoice; it cannot be cancelled itself. Nothing was "
                                  "changed.",
        "storno_send_pdf": "The content of invoice {number} was deleted after its download (or when its time was "
                           "up). To cancel it, please send me the invoice's PDF file here in the chat, with the "
                           "caption \"Storno\". Nothing was cancelled.",
        "storno_terms_changed": "I cannot cancel invoice {number} automatically: the tax details in your profile "
                                "(e.g. the VAT rate) changed since it was issued. Please contact support. Nothing "
                                "was cancelled.",
        "document_help": "📄 I use documents only for cancellations: if this is the PDF of an invoice I made for "
                         "you, send STORNO now and I will cancel it (or send it with the caption \"Storno\"). Send "
                         "new jobs as a voice note or text. I have not stored the document.",
        "storno_pdf_unknown": "I cannot find invoice {number} from this PDF among yours. Nothing was cancelled.",
        "storno_not_pdf": "This document is not a PDF file. To cancel an invoice, send me its PDF as you downloaded "
                          "it, with the caption \"Storno\". Nothing was cancelled.",
        "storno_no_einvoice": "This PDF has no e-invoice (ZUGFeRD/Factur-X) inside as I make them. To cancel, I need "
                              "the invoice's PDF as you downloaded it. Nothing was cancelled.",
        "storno_foreign": "This invoice is not yours: its seller is not the one in your profile. I can only cancel "
                          "invoices I made for you. Nothing was cancelled.",
        "storno_altered": "This PDF does not match invoice {number} as I made it for you: its e-invoice was changed. "
                          "Please send the unchanged PDF as you downloaded it. Nothing was cancelled.",
    },
}
