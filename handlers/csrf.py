"""CSRF protection for the HTML forms: a per-session token, checked on every unsafe request."""
from __future__ import annotations

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"


def csrf_token() -> str:
    """The session's token (created on first use); templates put it in a hidden field."""
    token = session.get(FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[FIELD] = token
    return str(token)


def check_csrf() -> None:
    """before_request hook for blueprints with forms: 400 on a POST without the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get(FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get(FIELD) or ""
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(400, description="Das Formular ist abgelaufen. Bitte laden Sie die Seite neu.")
