"""Privacy proofs (DESIGN section 7): nothing personal left anywhere after each kind of deletion."""
from __future__ import annotations

import datetime as dt
import logging
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from services import get_services
from store.models import DeletionReceipt, DeletionTrigger, Invoice, InvoiceState, Tenant, utcnow
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.whatsapp import FakeWhatsApp
from tests.forensics import (
    distinctive_words,
    find_needles,
    read_database,
    read_folder,
    read_redis,
    realistic_wamid,
)
from tests.helpers import (
    SAMPLES,
    TENANT_PHONE,
    IssueByVoice,
    SendText,
    SendVoiceNote,
    button_messages,
    load_cases,
)
from workers.retention import purge_content

CASE = next(c for c in load_cases() if c["id"] == "waschbecken")
LINK = re.compile(r"https://rechnung\.example(/d/([A-Za-z0-9_-]+))")
PREVIEW = re.compile(r"https://rechnung\.example/e/([A-Za-z0-9_-]+)")
TENANT_DATA = {"company": "Elektro Meier GmbH", "street": "Werkstraße 5", "email": "info@elektro-meier.de",
               "iban": "DE89370400440532013000", "tax number": "217/5937/0123"}

Needles = dict[str, str | bytes]


def needles_of(case: dict[str, Any], phone: str, wamid: str, token: str) -> Needles:
    """What must never be readable at rest: customer, number, words said, link token, message id, audio."""
    customer = case["fields"]["customer"]
    audio = (SAMPLES / case["audio"]).read_bytes()
    needles: Needles = {"customer name": customer["name"], "customer street": customer["street"],
                        "phone": phone, "phone digits": phone.lstrip("+"), "token": token, "wamid": wamid,
                        "audio": audio[len(audio) // 2:len(audio) // 2 + 32]}
    # the fakes name media ids after the case ("media-waschbecken"); real ones are opaque numbers
    words = [w for w in distinctive_words(case["transcript"], 5) if w.lower() != case["id"]]
    needles.update({f"word {w}": w for w in words})
    return needles


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh temp folder for everything the process writes there during the test."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


@pytest.fixture
def scan(app: Flask, clean_db: str, temp_dir: Path, caplog: pytest.LogCaptureFixture,
         capfd: pytest.CaptureFixture[str]) -> Callable[[Needles], dict[str, list[str]]]:
    """Scan database bytes, Redis, the instance and temp folders and all logs (captured at DEBUG)."""
    caplog.set_level(logging.DEBUG)
    printed: list[str] = []

    def run(needles: Needles) -> dict[str, list[str]]:
        services = get_services(app)
        printed.extend(capfd.readouterr())
        places = {"database": read_database(services.db.engine, clean_db), "redis": read_redis(services.redis),
                  "instance": read_folder(Path(app.instance_path)), "temp": read_folder(temp_dir),
                  "logs": (caplog.text + "".join(printed)).encode()}
        return {place: found for place, data in places.items() if (found := find_needles(data, needles))}

    return run


@pytest.fixture
def issued(tenant: int, issue_by_voice: IssueByVoice, whatsapp_fake: FakeWhatsApp) -> tuple[str, Needles]:
    """One invoice made from a voice note whose message id encodes the number: (link path, needles)."""
    wamid = realistic_wamid(TENANT_PHONE)
    issue_by_voice(CASE, message_id=wamid)
    [reply] = whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))
    match = LINK.search(reply)
    assert match, reply
    needles = needles_of(CASE, TENANT_PHONE, wamid, match.group(2))
    [draft] = button_messages(whatsapp_fake)
    preview = PREVIEW.search(draft.body)
    assert preview, draft.body
    needles["draft preview token"] = preview.group(1)
    assert set(find_needles(reply.encode(), needles)) >= {"customer name", "token"}  # the scanner can see
    return match.group(1), needles


def test_content_is_unreadable_at_rest_and_gone_after_download(
        client: FlaskClient, issued: tuple[str, Needles], scan: Callable[[Needles], dict[str, list[str]]]) -> None:
    path, needles = issued
    assert scan(needles) == {}  # pending: sealed, so not a single needle in clear
    download = client.post(path)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert scan(needles) == {}
    assert client.post(path).status_code == 410


def test_nothing_left_after_the_retention_purge(
        app: Flask, issued: tuple[str, Needles], scan: Callable[[Needles], dict[str, list[str]]],
        client: FlaskClient) -> None:
    path, needles = issued
    services = get_services(app)
    assert purge_content(services, now=utcnow() + dt.timedelta(days=30, hours=2)) == 1
    assert scan(needles) == {}
    assert services.key_store.list_refs() == []
    assert client.post(path).status_code == 404  # even the spent link's hash is forgotten by now


def test_nothing_left_after_loeschen_and_the_reply_names_the_receipt(
        app: Flask, client: FlaskClient, issued: tuple[str, Needles], send_text: SendText,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp,
        scan: Callable[[Needles], dict[str, list[str]]]) -> None:
    path, needles = issued
    send_text("LÖSCHEN")
    run_worker()
    assert "JA oder NEIN" in whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]
    assert client.get(path).status_code == 200  # asking deletes nothing
    send_text("Ja")
    run_worker()
    answer = whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]
    with get_services(app).db.session() as session:
        receipt = session.scalars(select(DeletionReceipt)).one()
        assert receipt.trigger is DeletionTrigger.REQUEST
        assert receipt.categories["invoice"] == 1 and receipt.categories["pdf"] == 1
    assert f"Löschbeleg: {receipt.id}" in answer
    assert scan(needles) == {}
    assert client.post(path).status_code == 410


def test_nothing_of_the_tenant_left_after_offboarding(
        app: Flask, tenant: int, issued: tuple[str, Needles],
        scan: Callable[[Needles], dict[str, list[str]]]) -> None:
    _, needles = issued
    result = app.test_cli_runner().invoke(args=["tenant", "offboard", str(tenant), "--confirm", str(tenant)])
    assert result.exit_code == 0, result.output
    receipt_id = result.output.split()[-1]
    assert scan({**needles, **TENANT_DATA}) == {}
    with get_services(app).db.session() as session:
        receipt = session.get_one(DeletionReceipt, receipt_id)
        assert receipt.trigger is DeletionTrigger.OFFBOARDING and receipt.tenant_id == tenant
        assert receipt.categories["phone_number"] == 1 and receipt.categories["invoice"] == 1
        assert session.scalars(select(Invoice)).all() == []
        gone = session.get_one(Tenant, tenant)
        assert gone.offboarded_at is not None and not gone.active and gone.phone_sealed is None
    listed = app.test_cli_runner().invoke(args=["tenant", "receipts", str(tenant)])
    assert receipt_id in listed.output and "offboarding" in listed.output


def test_loeschen_needs_a_yes_within_ten_minutes(
        app: Flask, tenant: int, issued: tuple[str, Needles], send_text: SendText,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    def answer(text: str) -> str:
        send_text(text)
        run_worker()
        return whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]

    assert "keinen offenen Entwurf" in answer("JA")  # no deletion asked: JA is an OK, and no draft is open
    assert "JA oder NEIN" in answer("löschen")
    assert "nichts gelöscht" in answer("nein")
    assert "JA oder NEIN" in answer("LÖSCHEN")
    with get_services(app).db.session() as session:  # eleven minutes pass
        session.get_one(Tenant, tenant).delete_requested_at = utcnow() - dt.timedelta(minutes=11)
    assert "keinen offenen Entwurf" in answer("JA")
    with get_services(app).db.session() as session:
        assert session.scalars(select(DeletionReceipt)).all() == []
        assert session.scalars(select(Invoice)).one().state is InvoiceState.ISSUED


def test_a_failed_job_leaves_no_content_in_redis_or_logs(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        anthropic_fake: FakeAnthropic, whatsapp_fake: FakeWhatsApp,
        scan: Callable[[Needles], dict[str, list[str]]]) -> None:
    """Extraction stays invalid through every retry: RQ keeps the failure, but not the customer's data."""
    customer = CASE["fields"]["customer"]
    # a missing field makes pydantic quote the whole item, description included, in its error text
    broken = {**CASE["fields"], "items": [{"description": f"{customer['name']}, {customer['street']}",
                                           "quantity": -1}]}
    for _ in range(4):  # two tries per attempt, two attempts (JOB_RETRIES=1)
        anthropic_fake.queue_reply(broken)
    wamid = realistic_wamid(TENANT_PHONE)
    send_voice_note(CASE, message_id=wamid)
    run_worker()
    assert "schiefgegangen" in whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]  # the apology
    with get_services(app).db.session() as session:
        assert session.scalars(select(Invoice)).all() == []
    needles = needles_of(CASE, TENANT_PHONE, wamid, token="no-token-was-made")
    assert scan({**needles, "validation input echo": "input_value="}) == {}
