"""Data export holds exactly one tenant's data; a database copy cannot decrypt what was deleted later."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from services import get_services
from store import ContentGone
from store.models import Invoice, SealedContent, utcnow
from tests.fakes.whatsapp import FakeWhatsApp
from tests.forensics import distinctive_words, find_needles
from tests.helpers import (
    INVOICE_LINK,
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    SendText,
    SendVoiceNote,
    copy_sealed_rows,
    decrypt_backup,
    load_cases,
)
from workers.retention import purge_content

CASES = {c["id"]: c for c in load_cases()}
OTHER_PHONE = "+4915112345679"
EXPORT_LINK = re.compile(r"https://rechnung\.example(/export/[A-Za-z0-9_-]+)")


def last_text(whatsapp_fake: FakeWhatsApp, phone: str) -> str:
    return whatsapp_fake.texts_to(phone.lstrip("+"))[-1]


def test_export_holds_exactly_this_tenants_data(
        app: Flask, client: FlaskClient, add_tenant: AddTenant, issue_by_voice: IssueByVoice,
        send_voice_note: SendVoiceNote, send_text: SendText, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    mine, open_draft, theirs = CASES["waschbecken"], CASES["steckdosen"], CASES["maler"]
    add_tenant()
    add_tenant(phone=OTHER_PHONE, company="Malerbetrieb Kowalski")
    issue_by_voice(mine)
    issue_by_voice(theirs, phone=OTHER_PHONE)
    send_voice_note(open_draft)  # a draft not created yet: exported as a draft, not as an invoice
    run_worker()
    send_text("DATEN")
    run_worker()
    link = EXPORT_LINK.search(last_text(whatsapp_fake, TENANT_PHONE))
    assert link, last_text(whatsapp_fake, TENANT_PHONE)
    assert client.get(link.group(1)).status_code == 200  # a preview's GET does not use the link up
    response = client.post(link.group(1))
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert client.post(link.group(1)).status_code == 410  # single use

    archive = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(archive.read("daten.json"))
    assert data["profile"]["company"] == "Elektro Meier GmbH"
    assert data["profile"]["whatsapp_number"] == TENANT_PHONE
    [invoice] = data["invoices"]
    assert invoice["fields"]["customer"]["name"] == mine["fields"]["customer"]["name"]
    assert invoice["transcript"] == mine["transcript"]
    pdf = PdfReader(io.BytesIO(archive.read(invoice["pdf_file"])))
    assert mine["fields"]["customer"]["name"] in "".join(page.extract_text() for page in pdf.pages)
    [draft] = data["drafts"]
    assert draft["fields"]["customer"]["name"] == open_draft["fields"]["customer"]["name"]
    assert draft["transcript"] == open_draft["transcript"] and draft["created_at"]

    everything = b"\n".join(archive.read(name) for name in archive.namelist())
    other = theirs["fields"]["customer"]
    needles: dict[str, str | bytes] = {"company": "Malerbetrieb Kowalski", "phone": OTHER_PHONE.lstrip("+"),
                                       "customer": other["name"], "street": other["street"]}
    needles.update({w: w for w in distinctive_words(theirs["transcript"])
                    if w not in mine["transcript"] and w not in open_draft["transcript"]})
    assert find_needles(everything, needles) == []
    assert INVOICE_LINK.search(last_text(whatsapp_fake, OTHER_PHONE))  # the other invoice exists, untouched


@pytest.mark.parametrize("trigger", ["download", "retention", "loeschen", "offboarding"])
def test_a_database_copy_taken_before_a_deletion_cannot_decrypt_it_afterwards(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        send_text: SendText, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp,
        trigger: str) -> None:
    case = CASES["waschbecken"]
    issue_by_voice(case)
    keys, blobs = copy_sealed_rows(app)
    assert decrypt_backup(app, keys, blobs)["transcript"].decode() == case["transcript"]  # the copy works now

    if trigger == "download":
        path = INVOICE_LINK.search(last_text(whatsapp_fake, TENANT_PHONE))
        assert path and client.post(path.group(1)).status_code == 200
    elif trigger == "retention":
        assert purge_content(get_services(app), now=utcnow() + dt.timedelta(days=31)) == 1
    elif trigger == "loeschen":
        for text in ("LÖSCHEN", "JA"):
            send_text(text)
            run_worker()
        assert "Löschbeleg" in last_text(whatsapp_fake, TENANT_PHONE)
    else:
        result = app.test_cli_runner().invoke(args=["tenant", "offboard", str(tenant), "--confirm", str(tenant)])
        assert result.exit_code == 0, result.output

    with pytest.raises(ContentGone):
        decrypt_backup(app, keys, blobs)
    with get_services(app).db.session() as session:
        assert session.scalars(select(SealedContent)).all() == []
        assert all(i.deleted_at for i in session.scalars(select(Invoice)))
