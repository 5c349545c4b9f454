"""A fake OpenAI API: `POST /v1/audio/transcriptions` (multipart/form-data, as the openai SDK sends it).

Point the SDK at it with `openai.OpenAI(api_key=..., base_url=f"{fake.url}/v1")`. The transcript is
looked up by the sha256 of the uploaded file bytes (`add_transcript`); unknown audio yields "".
Injected failures (`fail_next`) use OpenAI's error shape, e.g.
`fake.fail_next(1, 500, {"error": {"message": "overloaded", "type": "server_error", "param": None, "code": None}})`.
"""
from __future__ import annotations

import hashlib
import threading
from typing import Any

from tests.fakes.base import LoopbackServer, Recorded, Reply, json_reply
from tests.fakes.multipart import MultipartError, parse_form

RESPONSE_FORMATS = ("json", "text", "verbose_json")


def openai_error(status: int, message: str, error_type: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None) -> Reply:
    return json_reply(status, {"error": {"message": message, "type": error_type, "param": param, "code": code}})


class FakeOpenAI(LoopbackServer):
    """`transcripts`: sha256 hex of audio -> text. `transcriptions`: the form fields of each handled
    request (strings), plus `"file": {"filename", "content_type", "size", "sha256"}` instead of the bytes.

    Requests need `Authorization: Bearer <key>` (any key, or exactly `api_key` when given).
    """

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.transcripts: dict[str, str] = {}
        self.transcriptions: list[dict[str, Any]] = []
        self._state_lock = threading.Lock()

    def add_transcript(self, audio: bytes, text: str) -> None:
        with self._state_lock:
            self.transcripts[hashlib.sha256(audio).hexdigest()] = text

    def handle(self, request: Recorded) -> Reply:
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not key or (self.api_key is not None and key != self.api_key):
            return openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
        if request.method == "POST" and request.path == "/v1/audio/transcriptions":
            return self._transcribe(request)
        return openai_error(404, f"Invalid URL ({request.method} {request.path})")

    def _transcribe(self, request: Recorded) -> Reply:
        try:
            parts = parse_form(request.body, request.headers.get("content-type", ""))
        except MultipartError as exc:
            return openai_error(400, f"Could not parse multipart form: {exc}")
        fields: dict[str, Any] = {p.name: p.data.decode("utf-8") for p in parts if p.filename is None}
        files = [p for p in parts if p.name == "file" and p.filename is not None]
        if not files:
            return openai_error(400, "you must provide a file", param="file")
        if not fields.get("model"):
            return openai_error(400, "you must provide a model parameter", param="model")
        response_format = fields.get("response_format", "json")
        if response_format not in RESPONSE_FORMATS:
            return openai_error(400, f"response_format {response_format!r} is not supported by this fake",
                                param="response_format")
        audio = files[0]
        digest = hashlib.sha256(audio.data).hexdigest()
        fields["file"] = {"filename": audio.filename, "content_type": audio.content_type, "size": len(audio.data),
                          "sha256": digest}
        with self._state_lock:
            self.transcriptions.append(fields)
            text = self.transcripts.get(digest, "")
        if response_format == "text":
            return Reply(200, (text + "\n").encode(), "text/plain; charset=utf-8")
        if response_format == "verbose_json":
            return json_reply(200, {"task": "transcribe", "language": fields.get("language", "german"),
                                    "duration": 0.0, "text": text, "segments": []})
        return json_reply(200, {"text": text})
