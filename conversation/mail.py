"""E-mail through SMTP_URL (smtp://user:pass@host:port, smtps://... for implicit TLS, ?starttls=1)."""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger(__name__)


class MailError(Exception):
    """The SMTP server refused or could not be reached."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str  # "application/pdf", "application/xml"


def sender_as(mail_from: str, display_name: str) -> str:
    """MAIL_FROM's address under another display name (a mail in the tenant's name, sent from our domain)."""
    address = parseaddr(mail_from)[1] or mail_from
    return str(Address(display_name=display_name, addr_spec=address))


def send_mail(smtp_url: str, sender: str, to: str | Sequence[str], subject: str, body: str, timeout: float = 10.0,
              *, attachments: Sequence[Attachment] = (), reply_to: str | None = None) -> None:
    """Send one mail (plain text, with attachments) to one or more recipients; raise MailError on failure (the
    job retries). Returns once the server accepted it."""
    url = urlsplit(smtp_url)
    message = EmailMessage()
    message["From"], message["Subject"] = sender, subject
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(body)
    for attachment in attachments:
        maintype, subtype = attachment.mime_type.split("/", 1)
        message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
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
    logger.info("mail sent (%d chars, %d attachments)", len(body), len(attachments))
