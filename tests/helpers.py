"""Plain helpers and constants the test modules share; the fixtures are in conftest.py."""
from __future__ import annotations

import contextlib
import copy
import datetime as dt
import html
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

import pyotp
import redis
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from documents.amounts import compute_totals
from documents.invoice import InvoiceDocument, Seller
from extraction.models import InvoiceFields
from services import get_services
from store.keystores import open_key_store
from store.links import create_login_link, redeem_login_link
from store.models import DataKey, SealedContent, Tenant
from store.phones import open_phone
from tests.fakes.whatsapp import FakeWhatsApp

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = DATA / "samples"  # the shared sample voice notes with their cases, copied here so a clone tests itself
APP_SECRET = "test-app-secret"
WA_TOKEN = "test-wa-token"
CONTENT_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
TENANT_PHONE = "+4917612345678"

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
INVOICE_LINK = re.compile(r"https://rechnung\.example(/d/[A-Za-z0-9_-]+)")  # the download link's path in a reply
# A tenant as typed into the support console's form.
NEW_TENANT = {"phone": "0176 98765432", "company": "Malerbetrieb Schulz", "street": "Hauptstraße 1",
              "postal_code": "10115", "city": "Berlin", "tax_number": "12/345/67890", "vat_id": "",
              "iban": "DE89 3704 0044 0532 0130 00", "bic": "", "email": "info@maler-schulz.de",
              "hourly_rate": "48,50", "vat_rate": "19", "payment_terms_days": "14", "language": "de"}
# A whole profile as sent by the account page's form.
PROFILE = {"company": "Elektro Meier & Sohn GmbH", "street": "Werkstraße 7", "postal_code": "50668", "city": "Köln",
           "tax_number": "217/5937/0123", "vat_id": "de 123456788", "iban": "DE89 3704 0044 0532 0130 00",
           "bic": "COBADEFFXXX", "email": "rechnung@elektro-meier.de", "hourly_rate": "62,50", "vat_rate": "19",
           "payment_terms_days": "30", "number_format": "EM-{YYYY}/{NNN}", "language": "de",
           "business_phone": "0221 987654-0"}


# --- what the callable fixtures of conftest.py take and return -----------------------------------

class AddTenant(Protocol):
    def __call__(self, phone: str = ..., language: str = ..., verified: bool = ..., hourly_rate: str = ...,
                 company: str = ...) -> int: ...


class PostWebhook(Protocol):
    def __call__(self, body: dict[str, Any] | bytes, signature: str | None = ...) -> TestResponse: ...


class SendVoiceNote(Protocol):
    def __call__(self, case: dict[str, Any], phone: str = ..., message_id: str | None = ...) -> str: ...


class SendText(Protocol):
    def __call__(self, text: str, phone: str = ...) -> TestResponse: ...


# --- samples and recorded webhooks ---------------------------------------------------------------

def load_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((SAMPLES / "cases.json").read_text())
    return cases


def load_payload(file: str, case: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / file).read_text())[case]
    return body


def status_body(fake: FakeWhatsApp, index: int = -1, status: str = "sent") -> dict[str, Any]:
    """The status webhook WhatsApp sends for the `index`-th message the fake took (recorded in message_status.json
    "with_tracker"): its id, recipient, and the `biz_opaque_callback_data` the send carried."""
    body = copy.deepcopy(load_payload("message_status.json", "with_tracker"))
    sent, wamid = fake.sent[index], fake.sent_ids[index]
    entry = body["entry"][0]["changes"][0]["value"]["statuses"][0]
    entry.update({"id": wamid, "status": status, "timestamp": str(int(time.time())),
                  "recipient_id": str(sent["to"]).lstrip("+")})
    if sent.get("biz_opaque_callback_data"):
        entry["biz_opaque_callback_data"] = sent["biz_opaque_callback_data"]
    else:
        del entry["biz_opaque_callback_data"]
    return body


def voice_body(phone: str, message_id: str, media_id: str) -> dict[str, Any]:
    """The recorded voice-note webhook, re-addressed to a sender, message id and media id, sent now."""
    body = copy.deepcopy(load_payload("message.json", "voice"))
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update({"wa_id": phone.lstrip("+"), "user_id": f"DE.{phone.lstrip('+')}"})
    message = value["messages"][0]
    message.update({"from": phone.lstrip("+"), "id": message_id, "timestamp": str(int(time.time()))})
    message["audio"]["id"] = media_id
    return body


def document_body(phone: str, message_id: str, media_id: str, mime_type: str, filename: str,
                  caption: str | None = None) -> dict[str, Any]:
    """The recorded document webhook (a file sent in the chat), re-addressed to a sender, message id and media id,
    sent now, not forwarded; with a caption when given."""
    body = copy.deepcopy(load_payload("message.json", "document"))
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update({"wa_id": phone.lstrip("+"), "user_id": f"DE.{phone.lstrip('+')}"})
    message = value["messages"][0]
    message.update({"from": phone.lstrip("+"), "id": message_id, "timestamp": str(int(time.time()))})
    del message["context"]
    message["document"].update({"id": media_id, "mime_type": mime_type, "filename": filename})
    if caption is None:
        del message["document"]["caption"]
    else:
        message["document"]["caption"] = caption
    return body


def text_body(phone: str, message_id: str, text: str, context_id: str | None = None) -> dict[str, Any]:
    """The recorded text-message webhook, re-addressed to a sender, message id and text; with `context_id`,
    a reply quoting that bot message (`context.from` is the business's display number)."""
    body = copy.deepcopy(load_payload("message.json", "text"))
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update({"wa_id": phone.lstrip("+"), "user_id": f"DE.{phone.lstrip('+')}"})
    value["messages"][0].update({"from": phone.lstrip("+"), "id": message_id, "text": {"body": text},
                                 "timestamp": str(int(time.time()))})
    if context_id is not None:
        value["messages"][0]["context"] = {"from": value["metadata"]["display_phone_number"], "id": context_id}
    return body


@dataclass(frozen=True)
class ButtonMessage:
    """A reply-button message the bot sent: its WhatsApp id, body text and (id, title) buttons."""

    wamid: str
    body: str
    buttons: list[tuple[str, str]]

    @property
    def titles(self) -> list[str]:
        return [title for _, title in self.buttons]

    @property
    def text(self) -> str:
        """The body with Babel's no-break spaces (as in 58,00\xa0€) as plain spaces, for readable asserts."""
        return self.body.replace("\xa0", " ")


def button_messages(fake: FakeWhatsApp, to: str = TENANT_PHONE) -> list[ButtonMessage]:
    """The reply-button messages sent to `to`, oldest first, with the ids the fake answered for them."""
    digits = re.sub(r"\D", "", to)
    return [ButtonMessage(wamid, str(m["interactive"]["body"]["text"]),
                          [(str(b["reply"]["id"]), str(b["reply"]["title"]))
                           for b in m["interactive"]["action"]["buttons"]])
            for m, wamid in zip(list(fake.sent), list(fake.sent_ids), strict=True)
            if m.get("type") == "interactive" and re.sub(r"\D", "", str(m.get("to", ""))) == digits]


class IssueByVoice(Protocol):
    def __call__(self, case: dict[str, Any], phone: str = ..., message_id: str | None = ...) -> str: ...


class Press(Protocol):
    def __call__(self, title: str, message: ButtonMessage | None = ..., phone: str = ...) -> None: ...


class SendReply(Protocol):
    def __call__(self, text: str, quoting: str | None = ..., phone: str = ...) -> None: ...


def button_body(phone: str, message_id: str, button_id: str, title: str, context_id: str) -> dict[str, Any]:
    """The recorded reply-button press, re-addressed to a sender and message id, pressing the button
    (`button_id`, `title`) of the bot message `context_id`."""
    body = copy.deepcopy(load_payload("callback_button.json", "button"))
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update({"wa_id": phone.lstrip("+"), "user_id": f"DE.{phone.lstrip('+')}"})
    value["messages"][0].update({
        "from": phone.lstrip("+"), "id": message_id, "timestamp": str(int(time.time())),
        "context": {"from": value["metadata"]["display_phone_number"], "id": context_id},
        "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}})
    return body


# --- processes and stores ------------------------------------------------------------------------

def start_worker_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`flask --app app worker --burst` as its own process, with the test's settings."""
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"], cwd=ROOT,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`flask --app app worker --burst` as its own process, its output into `log` (a pipe nobody reads would fill
    and stall it while the test waits elsewhere)."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker", "--burst"], cwd=ROOT,
                                env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)


def descendants(pid: int) -> list[int]:
    """The process ids below `pid` (Linux /proc), children first."""
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return children + [d for child in children for d in descendants(child)]


def kill_worker(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker and its work horse (RQ forks each job into its own process group), as the kernel's OOM
    killer or a crashed machine would: no callback, no cleanup."""
    horses = descendants(process.pid)
    process.kill()
    for pid in horses:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)
    for pid in horses:
        wait_gone(pid)


def wait_gone(pid: int, timeout: float = 30.0) -> None:
    """Until the process `pid` is gone (reaped, or a zombie)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state == "Z":
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still runs")


def wait_for(condition: Callable[[], object], timeout: float = 60.0, what: str = "the condition") -> None:
    """Poll `condition` until it is true; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come within {timeout:.0f} s")
        time.sleep(0.05)


def finish_worker(process: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> str:
    """Wait for a burst worker to end; its output."""
    process.wait(timeout=timeout)
    return log.read_text(errors="replace")


# --- what a database backup holds ------------------------------------------------------------------

def copy_sealed_rows(app: Flask) -> tuple[list[tuple[str, bytes, str | None]], list[tuple[str, str, bytes]]]:
    """What a database backup holds of the content: wrapped keys (with their key file names) and blobs."""
    with get_services(app).db.session() as session:
        keys = [(k.invoice_id, k.wrapped_key, k.key_ref) for k in session.scalars(select(DataKey))]
        blobs = [(b.invoice_id, b.category, b.ciphertext) for b in session.scalars(select(SealedContent))]
    return keys, blobs


def decrypt_backup(app: Flask, keys: list[tuple[str, bytes, str | None]],
                   blobs: list[tuple[str, str, bytes]]) -> dict[str, bytes]:
    """Decrypt a backup with everything the live system has (CONTENT_KEY and the key folder)."""
    cipher = get_services(app).cipher
    data_keys = {invoice_id: cipher.unwrap(wrapped, invoice_id, ref) for invoice_id, wrapped, ref in keys}
    return {category: cipher.open(data_keys[invoice_id], blob, f"{invoice_id}/{category}")
            for invoice_id, category, blob in blobs}


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def phone_of(app: Flask, tenant_id: int) -> str | None:
    """The tenant's WhatsApp number, opened from its sealed column (None once offboarded)."""
    services = get_services(app)
    with services.db.session() as session:
        tenant = session.get_one(Tenant, tenant_id)
        if tenant.phone_sealed is None:
            return None
        return open_phone(services.cipher, tenant.phone_sealed, tenant.phone_hmac)


def load_tenant(app: Flask, tenant_id: int) -> Tenant:
    with get_services(app).db.session() as session:
        return session.get_one(Tenant, tenant_id)


def tenant_count(app: Flask) -> int:
    with get_services(app).db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Tenant)) or 0)


# --- pages and forms -----------------------------------------------------------------------------

def text_of(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def read_csrf(response: TestResponse) -> str:
    """The form token of a page."""
    found = CSRF_FIELD.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found.group(1)


def submit(client: FlaskClient, url: str, page: str, **data: str) -> TestResponse:
    """Load `page`, then post its form token with `data` to `url`, following the redirect."""
    token = read_csrf(client.get(page))
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=True)


# --- the tradesperson's account page -------------------------------------------------------------

def issue_login_token(app: Flask, tenant_id: int) -> str:
    """What the KONTO chat command hands out."""
    with get_services(app).db.session() as session:
        return create_login_link(session, tenant_id)


def consume_login_link(session: Session, token: str, now: dt.datetime | None = None) -> int | None:
    """The tenant id of a valid link, which is then used up; None when unknown, used, expired or inactive."""
    link = redeem_login_link(session, token, now)
    return link.tenant_id if link else None


def account_log_in(app: Flask, client: FlaskClient, tenant_id: int) -> str:
    """Open the link, press "Anmelden"; return the CSRF token of the account page."""
    token = issue_login_token(app, tenant_id)
    response = client.post(f"/konto/login/{token}", data={"csrf_token": read_csrf(client.get(f"/konto/login/{token}"))})
    assert response.status_code == 303 and response.headers["Location"].endswith("/konto")
    return read_csrf(client.get("/konto"))


# --- the support console -------------------------------------------------------------------------

@dataclass(frozen=True)
class Staff:
    email: str
    password: str
    secret: str

    def code(self, steps_ahead: int = 0) -> str:
        """The authenticator app's code, optionally of a later 30-second step (a fresh code)."""
        return str(pyotp.TOTP(self.secret).at(time.time() + 30 * steps_ahead))


def enrol_staff(app: Flask, email: str = "anna@support.example") -> Staff:
    """Create a staff user with the CLI and read the TOTP secret from the URI it prints once."""
    password = "ein-langes-geheimes-Passwort"
    result = app.test_cli_runner().invoke(args=["support-user", "add", "--email", email, "--name", "Anna",
                                                "--password", password])
    assert result.exit_code == 0, result.output
    uri = next(line for line in result.output.splitlines() if line.startswith("otpauth://"))
    return Staff(email, password, parse_qs(urlparse(uri).query)["secret"][0])


def staff_log_in(client: FlaskClient, staff: Staff, code: str | None = None,
                 password: str | None = None) -> TestResponse:
    page = client.get("/support/login")
    return client.post("/support/login", data={
        "csrf_token": read_csrf(page), "email": staff.email, "password": password or staff.password,
        "code": code or staff.code()})


def logged_in(client: FlaskClient) -> bool:
    return client.get("/support/tenants").status_code == 200


def sent_code(whatsapp_fake: FakeWhatsApp, to: str) -> str:
    """The code in the only authentication template sent to `to`: body and copy-code button carry it."""
    [message] = [m for m in whatsapp_fake.sent if m["type"] == "template" and m["to"] == to.lstrip("+")]
    body, button = message["template"]["components"]
    assert button["type"] == "button" and button["parameters"] == body["parameters"]
    return str(body["parameters"][0]["text"])


# --- a sample invoice document and the words of its PDF -----------------------------------------

MM_PER_POINT = 25.4 / 72
LONG_NAME = "Ğülşen Żółć-Wąsowska-Müßiggang"
LONG_COMPANY = "Łódźer" + "Sanitärgroßhandelsgesellschaft" * 3
LONG_WORD = "Donaudampfschifffahrtsgesellschaftskapitänsmützenherstellungsbetriebsüberprüfung" * 3
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    box: tuple[float, float, float, float]  # left, top, right, bottom in mm


def make_logo(kind: str) -> bytes:
    """A 300 x 100 px blue logo."""
    return encode_image(Image.new("RGB", (300, 100), (0, 90, 200)), kind)


def encode_image(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


SELLER = Seller(company="Sanitär Weber GmbH", street="Werkstattweg 5", postal_code="50823", city="Köln",
                country="DE", tax_number="217/5730/0815", vat_id="DE123456789", iban="DE89370400440532013000",
                bic="COBADEFFXXX", email="info@weber-sanitaer.de", phone="0221 123456", logo=make_logo("PNG"),
                logo_mime="image/png")
CUSTOMER = {"name": "Thomas Müller", "street": "Lindenstraße 12", "postal_code": "50674", "city": "Köln"}
ITEMS = [{"description": "Arbeitszeit", "quantity": "3", "unit": "h", "unit_price": "58", "kind": "labor"},
         {"description": "Waschbecken", "quantity": "1", "unit": "piece", "unit_price": "129", "kind": "material"}]


def make_document(customer: dict[str, Any] = CUSTOMER, items: list[dict[str, Any]] = ITEMS, language: str = "de",
                  seller: Seller = SELLER) -> InvoiceDocument:
    fields = InvoiceFields.model_validate({"customer": customer, "items": items, "job_title": "Waschbecken"})
    assert fields.customer is not None
    return InvoiceDocument(number="2026-0042", issue_date=dt.date(2026, 11, 21), service_date=dt.date(2026, 11, 20),
                           due_date=dt.date(2026, 12, 5), language=language, seller=seller, customer=fields.customer,
                           job_title=fields.job_title, notes=None, totals=compute_totals(fields, Decimal(19)))


def make_long_document(language: str = "de") -> InvoiceDocument:
    """45 items, one with a very long word; a customer with a long company name and non-ASCII letters."""
    items = [{"description": f"Material Nr. {n}", "quantity": "2", "unit": "piece", "unit_price": "10.5",
              "kind": "material"} for n in range(1, 46)]
    items[3]["description"] = LONG_WORD
    customer = {**CUSTOMER, "name": LONG_NAME, "company": LONG_COMPANY, "is_business": True}
    return make_document(customer, items, language)


def read_words(pdf: bytes) -> list[Word]:
    """Every word with its page number and box in mm, from pdftotext -bbox."""
    out = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    words = []
    for page, chunk in enumerate(out.decode().split("<page ")[1:], start=1):
        for *box, text in WORD.findall(chunk):
            words.append(Word(page, html.unescape(text), tuple(float(v) * MM_PER_POINT for v in box)))  # type: ignore
    return words


def read_page_texts(pdf: bytes) -> list[str]:
    """The text of each page with whitespace runs collapsed."""
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return [" ".join(page.split()) for page in out.split("\f") if page.strip()]


def empty_key_store(url: str) -> None:
    """Start a test on a shared key store (Redis, PostgreSQL) with no key of an earlier test in it."""
    store = open_key_store(url)
    for ref in store.list_refs():
        store.delete(ref)
    store.close()


def link_paths(fake: FakeWhatsApp, phone: str = "+4917612345678") -> list[str]:
    """The download links (paths) the bot sent to `phone`, oldest first."""
    return [match.group(1) for text in fake.texts_to(phone.lstrip("+"))
            if (match := re.search(r"https://rechnung\.example(/d/[A-Za-z0-9_-]+)", text))]
