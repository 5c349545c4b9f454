"""Keep tokens out of access logs (werkzeug and gunicorn), and request bodies out of client debug logs."""
from __future__ import annotations

import logging
import re

TOKEN_PATH = re.compile(r"(/d/|/e/|/konto/login/|/export/)[A-Za-z0-9_\-]+")
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
# at DEBUG these log request bodies (transcripts, fields) or signed media URLs
CLIENT_LOGGERS = ("openai", "anthropic", "httpx", "httpcore", "urllib3", "weasyprint.progress",
                  "facturx")  # factur-x logs an embedded XML's content at DEBUG (a PDF sent back for a Storno)


def redact(value: object) -> object:
    return TOKEN_PATH.sub(r"\1[redacted]", value) if isinstance(value, str) else value


class RedactTokens(logging.Filter):
    """Rewrites link tokens (/d/, /e/, /konto/login/, /export/) in the message and its arguments (tuple or dict)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: redact(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(redact(value) for value in record.args)
        return True


def install_token_filter() -> None:
    """Attach the filter once to every access logger; cap the HTTP clients' loggers at WARNING."""
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
