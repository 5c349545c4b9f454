"""Graph API client: media download, read receipts with typing indicator, text and reply-button messages."""
from __future__ import annotations

import logging
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from whatsapp import GraphError, NotConfigured
from whatsapp.limits import MAX_BODY, MAX_BUTTON_ID, MAX_BUTTON_TITLE, MAX_BUTTONS, MAX_FOOTER, check_buttons

__all__ = ["MAX_BODY", "MAX_BUTTONS", "MAX_BUTTON_ID", "MAX_BUTTON_TITLE", "MAX_FOOTER", "MAX_MEDIA_BYTES",
           "WhatsAppClient", "build_http_session"]

logger = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 16 * 1024 * 1024


def build_http_session(retries: int = 3, backoff: float = 0.5) -> requests.Session:
    """A requests session with bounded retries on transient statuses and connection errors."""
    retry = Retry(
        total=retries, backoff_factor=backoff, status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "POST"}), respect_retry_after_header=True, raise_on_status=False,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


class WhatsAppClient:
    """Talks to the Cloud API; every call has a timeout and bounded retries."""

    def __init__(self, api_base: str, token: str, phone_number_id: str, session: requests.Session,
                 timeout: float = 10.0) -> None:
        self.api_base = api_base.rstrip("/")
        self.phone_number_id = phone_number_id
        self._missing = [name for name, value in (("WHATSAPP_TOKEN", token),
                                                  ("WHATSAPP_PHONE_NUMBER_ID", phone_number_id)) if not value]
        self._session = session
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout

    def _require_credentials(self) -> None:
        """NotConfigured before any request when the token or the phone number id is empty."""
        if self._missing:
            raise NotConfigured(self._missing)

    def _check(self, response: requests.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            try:
                error = response.json().get("error", {})
            except ValueError:
                error = {}
            message = str(error.get("message", response.reason))
            details = (error.get("error_data") or {}).get("details")  # Meta names the bad field here
            raise GraphError(response.status_code, error.get("code"), f"{message}: {details}" if details else message)
        data: dict[str, Any] = response.json()
        return data

    def download_media(self, media_id: str) -> tuple[bytes, str]:
        """Resolve a media id to its short-lived URL and fetch the bytes into memory."""
        self._require_credentials()
        meta = self._check(self._session.get(f"{self.api_base}/{media_id}", headers=self._headers,
                                             timeout=self._timeout))
        response = self._session.get(meta["url"], headers=self._headers, timeout=self._timeout, stream=True)
        if response.status_code >= 400:
            raise GraphError(response.status_code, None, "media download failed")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_MEDIA_BYTES:
                response.close()
                raise GraphError(413, None, "media too large")
            chunks.append(chunk)
        return b"".join(chunks), str(meta.get("mime_type", "audio/ogg"))

    def mark_read(self, message_id: str, typing: bool = True) -> None:
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        self._post(body)

    def send_text(self, to: str, text: str, preview_url: bool = False) -> str:
        """Send a text message; returns the new message id."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.lstrip("+"),
                "type": "text", "text": {"body": text, "preview_url": preview_url}}
        data = self._post(body)
        return str(data.get("messages", [{}])[0].get("id", ""))

    def send_buttons(self, to: str, body: str, buttons: list[tuple[str, str]], footer: str | None = None) -> str:
        """Send an interactive reply-button message, buttons as (id, title); returns the new message id.

        Raises MessageInvalid, before sending, when the message breaks a limit of whatsapp.limits."""
        check_buttons(body, buttons, footer)
        interactive: dict[str, Any] = {
            "type": "button", "body": {"text": body},
            "action": {"buttons": [{"type": "reply", "reply": {"id": button_id, "title": title}}
                                   for button_id, title in buttons]}}
        if footer:
            interactive["footer"] = {"text": footer}
        data = self._post({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.lstrip("+"),
                           "type": "interactive", "interactive": interactive})
        return str(data.get("messages", [{}])[0].get("id", ""))

    def send_code_template(self, to: str, template: str, language: str, code: str) -> str:
        """Send an authentication template: the code as body parameter and as the copy-code button's."""
        parameter = [{"type": "text", "text": code}]
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.lstrip("+"),
                "type": "template", "template": {
                    "name": template, "language": {"code": language},
                    "components": [{"type": "body", "parameters": parameter},
                                   {"type": "button", "sub_type": "url", "index": "0", "parameters": parameter}]}}
        data = self._post(body)
        return str(data.get("messages", [{}])[0].get("id", ""))

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        self._require_credentials()
        url = f"{self.api_base}/{self.phone_number_id}/messages"
        return self._check(self._session.post(url, json=body, headers=self._headers, timeout=self._timeout))
