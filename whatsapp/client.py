"""Graph API client: media download, read receipts with typing indicator, text and reply-button messages.

A message send is retried by the HTTP layer only where WhatsApp cannot have taken it: a connection that could not be
made, and the statuses Meta answers for a request it did not process (429 throttling, 503 service unavailable).
A send that went out and then timed out, broke off or got another 5xx raises SendUncertain: the caller settles it
(the status webhook carries the send's `biz_opaque_callback_data`) before sending again."""
from __future__ import annotations

import logging
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from whatsapp import GraphError, GraphUnreachable, MediaUnavailable, NotConfigured, SendUncertain
from whatsapp.limits import MAX_BODY, MAX_BUTTON_ID, MAX_BUTTON_TITLE, MAX_BUTTONS, MAX_FOOTER, check_buttons

__all__ = ["MAX_BODY", "MAX_BUTTONS", "MAX_BUTTON_ID", "MAX_BUTTON_TITLE", "MAX_FOOTER", "MAX_MEDIA_BYTES",
           "GraphRetry", "WhatsAppClient", "build_http_session"]

logger = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 16 * 1024 * 1024
NOT_PROCESSED = frozenset({429, 503})  # Meta's answers for a request it did not take: throttled, unavailable


class GraphRetry(Retry):
    """urllib3's Retry for the Graph API. GET (idempotent) is retried on connection and read errors and on transient
    statuses; POST only where WhatsApp cannot have acted: a connection never made (urllib3 retries `connect` errors
    for every method, while `read` errors and other statuses are not retried for a method outside
    `allowed_methods`), and 429 / 503."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST":
            return status_code in NOT_PROCESSED
        return super().is_retry(method, status_code, has_retry_after)


def build_http_session(retries: int = 3, backoff: float = 0.5) -> requests.Session:
    """A requests session with bounded retries: connection errors before sending always, read errors and transient
    statuses for GET only, 429 and 503 for POST too (GraphRetry)."""
    retry = GraphRetry(
        total=retries, backoff_factor=backoff, status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}), respect_retry_after_header=True, raise_on_status=False,
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
        """Resolve a media id to its short-lived URL and fetch the bytes into memory. MediaUnavailable when Meta
        refuses it for good (expired, deleted, unknown, too large); GraphError or GraphUnreachable when it may
        come on another try."""
        self._require_credentials()
        try:
            meta = self._check(self._get(f"{self.api_base}/{media_id}"))
        except GraphError as exc:
            raise (MediaUnavailable(exc.status, exc.code, str(exc)) if exc.permanent else exc) from exc
        response = self._get(meta["url"], stream=True)
        if response.status_code >= 400:
            error = GraphError(response.status_code, None, "media download failed")
            raise MediaUnavailable(error.status, None, "media download failed") if error.permanent else error
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > MAX_MEDIA_BYTES:
                    response.close()
                    raise MediaUnavailable(413, None, "media too large")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise GraphUnreachable(f"media download broke off ({type(exc).__name__})") from exc
        return b"".join(chunks), str(meta.get("mime_type", "audio/ogg"))

    def _get(self, url: str, stream: bool = False) -> requests.Response:
        try:
            return self._session.get(url, headers=self._headers, timeout=self._timeout, stream=stream)
        except requests.RequestException as exc:
            raise GraphUnreachable(type(exc).__name__) from exc

    def mark_read(self, message_id: str, typing: bool = True) -> None:
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        if typing:
            body["typing_indicator"] = {"type": "text"}
        self._post(body)

    def send_text(self, to: str, text: str, preview_url: bool = False, callback_data: str | None = None) -> str:
        """Send a text message; returns the new message id. `callback_data` comes back in the message's status
        webhooks (`biz_opaque_callback_data`)."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.lstrip("+"),
                                "type": "text", "text": {"body": text, "preview_url": preview_url}}
        data = self._post(body, callback_data)
        return str(data.get("messages", [{}])[0].get("id", ""))

    def send_buttons(self, to: str, body: str, buttons: list[tuple[str, str]], footer: str | None = None,
                     callback_data: str | None = None) -> str:
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
                           "type": "interactive", "interactive": interactive}, callback_data)
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

    def _post(self, body: dict[str, Any], callback_data: str | None = None) -> dict[str, Any]:
        """POST to the messages endpoint. GraphError: refused, nothing sent; GraphUnreachable: no connection, nothing
        sent; SendUncertain: the request went out and its outcome is unknown."""
        self._require_credentials()
        if callback_data:
            body = {**body, "biz_opaque_callback_data": callback_data}
        url = f"{self.api_base}/{self.phone_number_id}/messages"
        try:
            response = self._session.post(url, json=body, headers=self._headers, timeout=self._timeout)
        except requests.ConnectTimeout as exc:
            raise GraphUnreachable("connect timeout") from exc
        except requests.ConnectionError as exc:
            if never_connected(exc):
                raise GraphUnreachable(type(exc).__name__) from exc
            raise SendUncertain(type(exc).__name__) from exc
        except requests.RequestException as exc:  # a read timeout, a broken answer: the request went out
            raise SendUncertain(type(exc).__name__) from exc
        if response.status_code >= 500 and response.status_code not in NOT_PROCESSED:
            raise SendUncertain(f"HTTP {response.status_code}")
        try:
            return self._check(response)
        except ValueError as exc:  # a 2xx whose body is no JSON: something answered, we cannot tell what
            raise SendUncertain("unreadable answer") from exc


def never_connected(exc: requests.ConnectionError) -> bool:
    """Whether a requests ConnectionError happened before the request was sent (no connection was made)."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
