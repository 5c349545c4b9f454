"""The emulator's files: a voice note or an audio file, a document (an invoice PDF sent back for a Storno), each
kept as media the emulated Graph API serves to the workers, and played back or opened in the chat. Routes of the
emulator blueprint."""
from __future__ import annotations

from typing import Any

from flask import Response, request
from werkzeug.datastructures import FileStorage

from handlers.emulator import Answer, Refused, bp, read_number, send
from handlers.emulator_state import chat_store
from services import get_services
from whatsapp.emulation import audio_message, document_message, new_media_id, new_wamid

MAX_MEDIA_BYTES = 3 * 1024 * 1024  # the app's request limit; WhatsApp's own is 16 MB (audio), 100 MB (documents)
MAX_CAPTION = 1024  # Meta: a media caption is at most 1,024 characters


def read_upload(field: str, what: str) -> tuple[FileStorage, bytes]:
    upload = request.files.get(field)
    if upload is None:
        raise Refused(f"Keine {what}.")
    data = upload.read(MAX_MEDIA_BYTES + 1)
    if not data or len(data) > MAX_MEDIA_BYTES:
        raise Refused(f"Die {what} ist leer oder größer als 3 MB.")
    return upload, data


def send_media(digits: str, media_id: str, data: bytes, mime_type: str, message: dict[str, Any],
               record: dict[str, Any]) -> Answer:
    services = get_services()
    store = chat_store(services)
    store.put_media(media_id, data, mime_type)
    return send(services, store, digits, message, record)


@bp.post("/api/audio")
def send_audio() -> Answer:
    """A recorded voice note (voice=1) or a chosen audio file, sent with the mime type the browser gives it."""
    digits = read_number(request.form.get("nummer"))
    upload, data = read_upload("audio", "Audiodatei")
    if not (upload.mimetype or "audio/ogg").startswith("audio/"):
        raise Refused(f"Keine Audiodatei ({upload.mimetype}).")
    mime_type = upload.content_type or "audio/ogg"  # keep parameters such as codecs=opus
    voice = request.form.get("voice") == "1"
    media_id, wamid = new_media_id(), new_wamid()
    media = {"id": media_id, "mime_type": mime_type, "voice": voice, "size": len(data),
             "filename": None if voice else upload.filename}
    return send_media(digits, media_id, data, mime_type, audio_message(wamid, media_id, mime_type, data, voice),
                      {"type": "audio", "audio": media})


@bp.post("/api/document")
def send_document() -> Answer:
    """A chosen file that is not audio, sent as WhatsApp sends a document, with the typed text as its caption."""
    digits = read_number(request.form.get("nummer"))
    upload, data = read_upload("document", "Datei")
    mime_type = upload.mimetype or "application/octet-stream"
    filename = (upload.filename or "Dokument").rsplit("/", 1)[-1][:240]
    caption = (request.form.get("caption") or "").strip()[:MAX_CAPTION] or None
    media_id, wamid = new_media_id(), new_wamid()
    media = {"id": media_id, "mime_type": mime_type, "filename": filename, "caption": caption, "size": len(data)}
    return send_media(digits, media_id, data, mime_type,
                      document_message(wamid, media_id, mime_type, data, filename, caption),
                      {"type": "document", "document": media})


@bp.get("/api/media/<media_id>")
def media(media_id: str) -> Response:
    """A sent voice note or document, for playing or opening it in the chat (until its short TTL ends)."""
    found = chat_store(get_services()).get_media(media_id)
    if found is None:
        raise Refused("Die Datei ist abgelaufen.", 404)
    return Response(found[0], mimetype=found[1])
