"""E-mail through SMTP_URL (smtp://user:pass@host:port, smtps://... for implicit TLS, ?starttls=1)."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger(__name__)


class MailError(Exception):
    """The SMTP server refused or could not be reached."""


def send_mail(smtp_url: str, sender: str, to: str, subject: str, body: str, timeout: float = 10.0) -> None:
    """Send one plain-text mail; raise MailError on failure (the job retries)."""
    url = urlsplit(smtp_url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    try:
        with smtp_class(url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 25),
                        timeout=timeout) as smtp:
            if parse_qs(url.query).get("starttls") == ["1"]:
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(type(exc).__name__) from exc
    logger.info("mail sent (%d chars)", len(body))
