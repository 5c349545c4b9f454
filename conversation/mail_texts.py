"""Texts of the archive copy and of the mail to the customer, and their chat replies: German, English per tenant."""
from __future__ import annotations

MAIL_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "button_send_customer": "An Kunden senden",
        "customer_offer": "📧 Die E-Mail-Adresse von {customer} kenne ich ({email}): Mit „An Kunden senden“ schicke "
                          "ich die Rechnung in deinem Namen dorthin.",
        "archive_reminder": "📁 Denk daran, das PDF aufzubewahren: Rechnungen musst du 8 Jahre aufheben (§ 14b UStG), "
                            "und wir löschen sie nach dem Herunterladen. Trag im Konto („KONTO“) eine Archiv-Adresse "
                            "ein, dann schicken wir jede Rechnung automatisch dorthin.",
        "archive_failed": "⚠️ Die Archivkopie der Rechnung {number} ({customer}) ist nicht an deine Archiv-Adresse "
                          "gegangen: {reason}. Bitte lade das PDF herunter und leg es selbst ab. Wir behalten die "
                          "Rechnung bis zum {date}, auch nach dem Herunterladen.",
        "archive_reason_unreachable": "der Mailserver hat sie nach mehreren Versuchen nicht angenommen",
        "archive_reason_unconfigured": "der E-Mail-Versand ist bei Sprachrechnung nicht eingerichtet",
        "archive_title": "Rechnung",
        "archive_title_cancellation": "Stornorechnung",
        "archive_subject": "{title} {number} | {date} | {customer} | {gross}",
        "archive_body": "{title} {number} vom {date} an {customer} über {gross}.\n\n"
                        "Im Anhang: das PDF/A-3 mit eingebetteter E-Rechnung (Factur-X/ZUGFeRD, EN 16931) und "
                        "dieselbe XML als eigene Datei{xrechnung}.\n"
                        "Rechnungen sind 8 Jahre aufzubewahren (§ 14b UStG); Sprachrechnung löscht sie nach dem "
                        "Herunterladen.\n\nArchivkopie für {company}, versandt von Sprachrechnung.",
        "archive_with_xrechnung": " sowie die XRechnung",
        "customer_subject": "Rechnung {number} von {company}",
        "customer_body": "Guten Tag,\n\nanbei erhalten Sie unsere Rechnung {number} vom {date} über {gross}{xrechnung}."
                         "\n\nBei Fragen antworten Sie einfach auf diese E-Mail.\n\nMit freundlichen Grüßen\n"
                         "{company}",
        "customer_with_xrechnung": " (mit XRechnung)",
        "customer_sent": "📧 Erledigt: Rechnung {number} ist per E-Mail an {email} gegangen. Antworten des Kunden "
                         "kommen an {reply_to}.",
        "customer_already_sent": "Rechnung {number} ist schon an den Kunden gegangen; ich schicke sie nicht noch "
                                 "einmal.",
        "customer_gone": "Rechnung {number} ist bei uns schon gelöscht, deshalb kann ich sie nicht mehr "
                         "verschicken. Bitte schick das PDF selbst an den Kunden. Es wurde nichts geändert.",
        "customer_unknown": "Diese Rechnung finde ich nicht mehr. Es wurde nichts verschickt.",
        "customer_no_address": "Für Rechnung {number} kenne ich keine E-Mail-Adresse des Kunden. Schreib sie mir "
                               "einfach in den Chat, z. B. „kunde@beispiel.de“.",
        "customer_mail_failed": "Der Mailserver war gerade nicht erreichbar, Rechnung {number} ist nicht verschickt. "
                                "Bitte drück später noch einmal auf „An Kunden senden“. Es wurde nichts geändert.",
        "mail_unconfigured": "Der E-Mail-Versand ist bei Sprachrechnung nicht eingerichtet, deshalb kann ich nichts "
                             "per E-Mail verschicken. Es wurde nichts geändert. Support: {support}",
        "email_invalid": "„{email}“ ist keine gültige E-Mail-Adresse. Bitte prüf sie und schreib sie noch einmal. "
                         "Es wurde nichts geändert.",
        "email_saved": "Danke, die E-Mail-Adresse {email} gehört jetzt zu Rechnung {number} ({customer}). Soll ich "
                       "die Rechnung dorthin schicken?",
        "email_no_invoice": "Zu dieser E-Mail-Adresse finde ich keine Rechnung, die noch bei uns liegt. Es wurde "
                            "nichts geändert.",
    },
    "en": {
        "button_send_customer": "Send to customer",
        "customer_offer": "📧 I know the e-mail address of {customer} ({email}): with \"Send to customer\" I e-mail "
                          "the invoice there in your name.",
        "archive_reminder": "📁 Remember to keep the PDF: invoices must be kept for 8 years (§ 14b UStG), and we "
                            "delete them after the download. Add an archive address in your account (\"ACCOUNT\") and "
                            "we send every invoice there automatically.",
        "archive_failed": "⚠️ The archive copy of invoice {number} ({customer}) did not reach your archive address: "
                          "{reason}. Please download the PDF and file it yourself. We keep the invoice until {date}, "
                          "also after the download.",
        "archive_reason_unreachable": "the mail server did not accept it after several tries",
        "archive_reason_unconfigured": "e-mail is not set up at Sprachrechnung",
        "archive_title": "Invoice",
        "archive_title_cancellation": "Cancellation invoice",
        "archive_subject": "{title} {number} | {date} | {customer} | {gross}",
        "archive_body": "{title} {number} of {date} to {customer}, {gross}.\n\n"
                        "Attached: the PDF/A-3 with the embedded e-invoice (Factur-X/ZUGFeRD, EN 16931) and the same "
                        "XML as a file of its own{xrechnung}.\n"
                        "Invoices must be kept for 8 years (§ 14b UStG); Sprachrechnung deletes them after the "
                        "download.\n\nArchive copy for {company}, sent by Sprachrechnung.",
        "archive_with_xrechnung": ", and the XRechnung",
        "customer_subject": "Invoice {number} from {company}",
        "customer_body": "Hello,\n\nplease find attached our invoice {number} of {date}, {gross}{xrechnung}.\n\n"
                         "If you have any questions, just reply to this e-mail.\n\nKind regards\n{company}",
        "customer_with_xrechnung": " (with XRechnung)",
        "customer_sent": "📧 Done: invoice {number} was e-mailed to {email}. The customer's replies go to {reply_to}.",
        "customer_already_sent": "Invoice {number} has already gone to the customer; I will not send it again.",
        "customer_gone": "Invoice {number} is already deleted on our side, so I cannot send it any more. Please send "
                         "the PDF to the customer yourself. Nothing was changed.",
        "customer_unknown": "I cannot find this invoice any more. Nothing was sent.",
        "customer_no_address": "I do not know the customer's e-mail address for invoice {number}. Just type it into "
                               "the chat, e.g. \"customer@example.com\".",
        "customer_mail_failed": "The mail server could not be reached just now, invoice {number} was not sent. Please "
                                "press \"Send to customer\" again later. Nothing was changed.",
        "mail_unconfigured": "E-mail is not set up at Sprachrechnung, so I cannot send anything by e-mail. Nothing "
                             "was changed. Support: {support}",
        "email_invalid": "\"{email}\" is not a valid e-mail address. Please check it and type it again. Nothing was "
                         "changed.",
        "email_saved": "Thanks, the e-mail address {email} now belongs to invoice {number} ({customer}). Shall I send "
                       "the invoice there?",
        "email_no_invoice": "I have no invoice left on our side for this e-mail address. Nothing was changed.",
    },
}
