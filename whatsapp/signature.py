"""X-Hub-Signature-256 verification over the raw request body."""
from __future__ import annotations

import hashlib
import hmac


def sign_body(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time comparison; a missing header or an unset secret never verifies."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign_body(secret, body), header.strip())
