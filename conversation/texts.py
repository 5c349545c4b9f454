"""WhatsApp reply texts: German by default, English per tenant."""
from __future__ import annotations

from conversation.draft_texts import DRAFT_TEXTS
from conversation.mail_texts import MAIL_TEXTS
from conversation.storno_texts import STORNO_TEXTS

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "invoice_ready": "✅ Rechnung {number} für {customer} über {gross} ist fertig:\n{link}\n\n"
                         "Der Link gilt {days} Tage. Nach dem Herunterladen löschen wir alle Inhalte.",
        "nothing_invoiceable": "Ich habe in deiner Nachricht keinen Auftrag gefunden, aus dem ich eine "
                               "Rechnung machen kann. Sag mir bitte: für wen (Name und Adresse), was du gemacht "
                               "hast, wie viele Stunden und welches Material zu welchem Preis. Beispiel: "
                               "„Rechnung für Thomas Müller, Lindenstraße 12, 50674 Köln. Drei Stunden Arbeit, "
                               "ein Waschbecken für 129 Euro.“",



        "gap_seller_phone": "• deine Telefonnummer im Profil (schreib „KONTO“ und trag sie dort ein)",
        "gap_buyer_address": "• Postleitzahl und Ort von {customer}",
        "gap_leitweg_id": "• eine gültige Leitweg-ID: bei „{leitweg_id}“ passen die Prüfziffern nicht",
        "apology": "Entschuldige, bei deiner Sprachnachricht ist etwas schiefgegangen und ich konnte keine Rechnung "
                   "erstellen. Bitte schick sie in ein paar Minuten noch einmal.",
        "extraction_unconfigured": "Entschuldige, Sprachrechnung ist noch nicht fertig eingerichtet und kann "
                                   "Auftragsberichte noch nicht lesen. Der Support weiß Bescheid (erreichbar unter "
                                   "{support}). Deine Nachricht haben wir nicht verarbeitet – bitte schick sie "
                                   "später noch einmal.",
        "problem_audio": "Entschuldige, deine Sprachnachricht kann ich nicht anhören: Die Aufnahme ist leer, "
                         "beschädigt oder in einem Format, das ich nicht lesen kann. Bitte nimm sie noch einmal auf – "
                         "oder schreib mir den Auftrag als Text.",
        "problem_media_type": "Entschuldige, mit dieser Datei ({type}) kann ich nichts anfangen. Ich verstehe "
                              "Sprachnachrichten und Text: Sprich den Auftrag bitte ein oder schreib ihn.",
        "problem_media_gone": "Entschuldige, deine Sprachnachricht konnte ich bei WhatsApp nicht mehr abrufen (sie ist "
                              "abgelaufen, gelöscht oder zu groß). Bitte schick sie noch einmal.",
        "problem_refused": "Entschuldige, {service} hat deine Nachricht abgelehnt (Fehler {status}), deshalb konnte "
                           "ich nichts daraus machen. Nochmal senden ändert daran nichts; der Support weiß Bescheid "
                           "({support}). Du kannst den Auftrag gern anders formuliert oder als Text schicken.",
        "service_transcription": "die Spracherkennung",
        "service_extraction": "das Sprachmodell",
        "service_whatsapp": "WhatsApp",

        "welcome": "Willkommen! Deine Nummer ist bestätigt. 🎉\n\n"
                   "Hinweis: Deine Sprachnachrichten verarbeitet ein automatisiertes KI-System (Spracherkennung "
                   "und Sprachmodell), das daraus Rechnungen erstellt.\n"
                   "Deine Daten: Audio speichern wir nie. Rechnungsinhalte löschen wir direkt nach dem "
                   "Herunterladen, spätestens nach {days} Tagen. Datenschutzhinweise: {privacy}\n\n"
                   "So geht's: Sprich nach dem Auftrag z. B. „Rechnung für Thomas Müller, Lindenstraße 12, "
                   "50674 Köln. Drei Stunden Arbeit, ein Waschbecken für 129 Euro.“\n"
                   "Hilfe: {support} – mit „KONTO“ kommst du zu deinem Konto.",
        "code_wrong": "Der Code stimmt nicht. Du hast noch {remaining} Versuche.",
        "code_expired": "Der Code ist abgelaufen. Bitte fordere beim Support einen neuen an.",
        "code_locked": "Zu viele falsche Codes. Bitte wende dich an den Support, um einen neuen Code zu bekommen.",
        "no_challenge": "Deine Nummer ist noch nicht bestätigt. Bitte wende dich an den Support, um einen Code zu "
                        "bekommen.",
        "account_link": "Hier ist dein Link zum Konto (15 Minuten gültig, nur einmal nutzbar):\n{link}",
        "account_link_mailed": "Ich habe dir den Link zu deinem Konto per E-Mail an {email} geschickt "
                               "(15 Minuten gültig, nur einmal nutzbar).",
        "account_mail_subject": "Dein Link zum Konto",
        "export_link": "Hier kannst du alle Daten herunterladen, die wir zu deinem Betrieb speichern (ZIP mit "
                       "JSON und den noch nicht abgeholten PDFs). Der Link gilt {hours} Stunden und nur einmal:\n"
                       "{link}",
        "delete_confirm": "Sollen wir wirklich alle deine Inhalte löschen – alle offenen Entwürfe und alle "
                          "Rechnungen, die noch nicht heruntergeladen wurden, samt Kundendaten und PDFs? Das lässt "
                          "sich nicht rückgängig machen. Antworte mit JA oder NEIN (innerhalb von 10 Minuten).",
        "delete_cancelled": "Alles klar, es wurde nichts gelöscht.",
        "deleted": "Erledigt: Alle Inhalte sind gelöscht ({invoices} Rechnungen, {drafts} Entwürfe). "
                   "Löschbeleg: {receipt}\n"
                   "Profil und Nummer bleiben, damit du weiter Rechnungen schreiben kannst. Für die Kündigung "
                   "wende dich an den Support.",
    },
    "en": {
        "invoice_ready": "✅ Invoice {number} for {customer}, {gross}, is ready:\n{link}\n\n"
                         "The link is valid for {days} days. Once downloaded, all content is deleted.",
        "nothing_invoiceable": "I could not find a job to invoice in your message. Please tell me: for whom "
                               "(name and address), what you did, how many hours and which materials at what "
                               "price. Example: \"Invoice for John Carter, 21 Baker Street, 10115 Berlin. Three "
                               "hours of labour, one radiator valve for 34 euros.\"",



        "gap_seller_phone": "• your phone number in your profile (write \"ACCOUNT\" and add it there)",
        "gap_buyer_address": "• the postal code and city of {customer}",
        "gap_leitweg_id": "• a valid Leitweg-ID: the check digits of \"{leitweg_id}\" do not match",
        "apology": "Sorry, something went wrong with your voice note and I could not make an invoice. Please "
                   "send it again in a few minutes.",
        "extraction_unconfigured": "Sorry, Sprachrechnung is not fully set up yet and cannot read job reports. "
                                   "Support knows about it (reach them at {support}). Your message was not "
                                   "processed – please send it again later.",
        "problem_audio": "Sorry, I cannot listen to your voice note: the recording is empty, damaged or in a format I "
                         "cannot read. Please record it again – or type the job as a text.",
        "problem_media_type": "Sorry, I cannot do anything with this file ({type}). I understand voice notes and text: "
                              "please say the job or type it.",
        "problem_media_gone": "Sorry, I could no longer fetch your voice note from WhatsApp (it expired, was deleted "
                              "or is too large). Please send it again.",
        "problem_refused": "Sorry, {service} refused your message (error {status}), so I could not make anything of "
                           "it. Sending it again will not change that; support knows about it ({support}). You are "
                           "welcome to send the job in other words or as a text.",
        "service_transcription": "the speech recognition",
        "service_extraction": "the language model",
        "service_whatsapp": "WhatsApp",

        "welcome": "Welcome! Your number is verified. 🎉\n\n"
                   "Note: your voice notes are processed by an automated AI system (speech recognition and a "
                   "language model) that makes invoices from them.\n"
                   "Your data: audio is never stored. Invoice content is deleted right after the download, at the "
                   "latest after {days} days. Privacy notice: {privacy}\n\n"
                   "How to: after a job say e.g. \"Invoice for John Carter, 21 Baker Street, 10115 Berlin. Three "
                   "hours of labour, one radiator valve for 34 euros.\"\n"
                   "Help: {support} – send \"ACCOUNT\" to open your account.",
        "code_wrong": "That code is not right. You have {remaining} tries left.",
        "code_expired": "The code has expired. Please ask support for a new one.",
        "code_locked": "Too many wrong codes. Please contact support to get a new code.",
        "no_challenge": "Your number is not verified yet. Please contact support to get a code.",
        "account_link": "Here is the link to your account (valid 15 minutes, single use):\n{link}",
        "account_link_mailed": "I have e-mailed the link to your account to {email} (valid 15 minutes, single use).",
        "account_mail_subject": "Your account link",
        "export_link": "Here you can download all data we store about your business (a ZIP with JSON and the "
                       "PDFs not yet downloaded). The link is valid for {hours} hours and works once:\n{link}",
        "delete_confirm": "Do you really want us to delete all your content – every open draft and every invoice "
                          "not yet downloaded, "
                          "with customer data and PDFs? This cannot be undone. Reply YES or NO (within 10 "
                          "minutes).",
        "delete_cancelled": "All right, nothing was deleted.",
        "deleted": "Done: all content is deleted ({invoices} invoices, {drafts} drafts). Deletion receipt: {receipt}\n"
                   "Your profile and number stay so you can keep invoicing. To close your account, contact "
                   "support.",
    },
}


SENDER_NOTICE = (
    "Hallo! Diese Nummer ist noch nicht für Sprachrechnung freigeschaltet. Bitte wende dich an deinen "
    "Ansprechpartner oder an {support}, um deine Nummer per Code bestätigen zu lassen. Deine Nachricht haben wir "
    "nicht verarbeitet.\n\n"
    "Hello! This number is not enabled for Sprachrechnung yet. Please contact {support} to verify your number "
    "with a code. Your message was not processed."
)


for _language, _texts in DRAFT_TEXTS.items():
    TEXTS[_language].update(_texts)
for _language, _texts in STORNO_TEXTS.items():
    TEXTS[_language].update(_texts)
for _language, _texts in MAIL_TEXTS.items():
    TEXTS[_language].update(_texts)


def render_text(key: str, language: str, **values: object) -> str:
    """The reply text `key` in the tenant's language (German when unknown)."""
    return TEXTS.get(language, TEXTS["de"])[key].format(**values)
