"""A small, byte-exact multipart/form-data parser (the cgi module is deprecated)."""
from __future__ import annotations

from dataclasses import dataclass
from email.message import Message


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None
    content_type: str | None


class MultipartError(ValueError):
    pass


def _params(header_value: str, header_name: str) -> Message:
    message = Message()
    message[header_name] = header_value
    return message


def boundary_of(content_type: str) -> str:
    boundary = _params(content_type, "content-type").get_param("boundary", header="content-type")
    if not isinstance(boundary, str) or not boundary:
        raise MultipartError("no boundary in Content-Type")
    return boundary


def parse_form(body: bytes, content_type: str) -> list[FormPart]:
    """Split a multipart/form-data body into its parts, keeping each part's bytes exactly."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise MultipartError(f"not multipart/form-data: {content_type!r}")
    delimiter = b"\r\n--" + boundary_of(content_type).encode()
    segments = (b"\r\n" + body).split(delimiter)
    if len(segments) < 3 or not segments[-1].startswith(b"--"):
        raise MultipartError("missing or unterminated multipart body")
    parts: list[FormPart] = []
    for segment in segments[1:-1]:
        head, sep, data = segment.partition(b"\r\n\r\n")
        if not sep:
            raise MultipartError("part without header/body separator")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8").split("\r\n"):
            if ":" in line:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
        disposition = _params(headers.get("content-disposition", ""), "content-disposition")
        name = disposition.get_param("name", header="content-disposition")
        filename = disposition.get_filename()
        if not isinstance(name, str):
            raise MultipartError("part without a name")
        parts.append(FormPart(name, data, filename, headers.get("content-type")))
    return parts
