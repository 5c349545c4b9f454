"""Several drafts, several tenants, in order: quoted corrections, new jobs, commands, retention, export, limits."""
from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from documents.drafts import open_draft
from services import get_services
from store.export import collect_export
from store.models import DeletionReceipt, DeletionTrigger, Invoice, InvoiceState, utcnow
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    SendReply,
    SendVoiceNote,
    button_messages,
    load_cases,
    start_worker_process,
)
from tests.test_drafts import PREVIEW, revised, texts
from whatsapp.limits import MAX_BODY
from workers.retention import purge_content

CASES = {c["id"]: c for c in load_cases()}
OTHER_PHONE = "+4915112345678"


def open_drafts(app: Flask, tenant_id: int | None = None) -> list[Invoice]:
    with get_services(app).db.session() as session:
        query = select(Invoice).where(Invoice.state == InvoiceState.DRAFT).order_by(Invoice.created_at)
        if tenant_id is not None:
            query = query.where(Invoice.tenant_id == tenant_id)
        return list(session.scalars(query))


def draft_fields(app: Flask, draft_id: str) -> dict[str, Any]:
    with get_services(app).db.session() as session:
        return open_draft(session, get_services(app).cipher, draft_id).fields.model_dump(mode="json")


def test_a_quoted_correction_goes_to_the_older_draft_and_a_new_job_makes_a_new_one(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic) -> None:
    first, second = CASES["waschbecken"], CASES["steckdosen"]
    send_voice_note(first)
    run_worker()
    new_job = {**second["fields"], "intent": "new_job"}  # said while the first draft is open
    anthropic_fake.add_reply(second["transcript"][:60], new_job)
    send_voice_note(second)
    run_worker()
    older, newer = button_messages(whatsapp_fake)
    assert "Thomas Müller" in older.text and "Bäckerei Schneider" in newer.text
    assert len(open_drafts(app, tenant)) == 2

    customer = {**first["fields"]["customer"], "name": "Thomas Möller"}
    anthropic_fake.add_reply("der Kunde heißt Möller", revised(first["fields"], customer=customer))
    send_reply("der Kunde heißt Möller mit ö", quoting=older.wamid)
    run_worker()
    answer = button_messages(whatsapp_fake)[-1]
    assert "Kunde: Thomas Müller → Thomas Möller" in answer.text
    assert "Thomas Müller" in str(anthropic_fake.calls[-1]["messages"])  # the quoted draft went to the model
    names = sorted(draft_fields(app, d.id)["customer"]["name"] for d in open_drafts(app, tenant))
    assert names == ["Bäckerei Schneider GmbH", "Thomas Möller"]


def test_two_tenants_drafts_never_mix_and_one_tenants_corrections_run_in_order(
        app: Flask, add_tenant: AddTenant, send_voice_note: SendVoiceNote, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic) -> None:
    mine = add_tenant()
    theirs = add_tenant(phone=OTHER_PHONE, company="Malerbetrieb Kowalski")
    send_voice_note(CASES["waschbecken"])
    send_voice_note(CASES["maler"], phone=OTHER_PHONE)
    queue = get_services(app).queue
    assert queue.count == 2  # different tenants: both may run at once
    run_worker()
    assert "Thomas Müller" in button_messages(whatsapp_fake, TENANT_PHONE)[0].text
    assert "Erika Schulz" in button_messages(whatsapp_fake, OTHER_PHONE)[0].text

    fields = CASES["waschbecken"]["fields"]
    hours = copy.deepcopy(fields["items"])
    hours[0]["quantity"] = 4
    both = copy.deepcopy(hours)
    both[2]["unit_price"] = 20.0
    anthropic_fake.add_reply("4 Stunden statt 3", revised(fields, items=hours))
    anthropic_fake.add_reply("Kleinmaterial 20 Euro", revised(fields, items=both))
    send_reply("4 Stunden statt 3")
    send_reply("Kleinmaterial 20 Euro")
    assert queue.count == 1  # the same tenant: the second correction waits for the first
    run_worker()

    second_request = str(anthropic_fake.calls[-1]["messages"])
    assert "Kleinmaterial 20 Euro" in second_request and '"quantity":"4"' in second_request  # the first applied
    first_answer, second_answer = button_messages(whatsapp_fake, TENANT_PHONE)[1:]
    assert "3 Std. → 4 Std." in first_answer.text
    assert "Kleinmaterial: Preis 15,00 € → 20,00 €" in second_answer.text
    assert len(button_messages(whatsapp_fake, OTHER_PHONE)) == 1  # the other tenant saw none of it
    [other] = open_drafts(app, theirs)
    assert draft_fields(app, other.id)["customer"]["name"] == "Erika Schulz"
    assert len(open_drafts(app, mine)) == 1


def test_a_text_describing_a_job_makes_a_draft_and_commands_answer(
        app: Flask, tenant: int, send_reply: SendReply, issue_by_voice: IssueByVoice,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic) -> None:
    send_reply("Hallo")
    run_worker()
    assert texts(whatsapp_fake)[-1].startswith("Ich mache aus deiner Sprachnachricht")  # short and unknown: help
    send_reply("HILFE")
    run_worker()
    assert "Lindenstraße 12, 50674 Köln" in texts(whatsapp_fake)[-1]  # one example
    assert "STATUS" in texts(whatsapp_fake)[-1] and "ABBRECHEN" in texts(whatsapp_fake)[-1]

    issue_by_voice(CASES["waschbecken"])  # an invoice waiting for its download
    words = "Rechnung für Erika Schulz, Gartenweg 7 in Leipzig, zwei Tage Wohnzimmer gestrichen"
    anthropic_fake.add_reply(words, CASES["maler"]["fields"])
    send_reply(words)
    run_worker()
    assert "Entwurf für Erika Schulz" in button_messages(whatsapp_fake)[-1].text

    send_reply("STATUS")
    run_worker()
    status = texts(whatsapp_fake)[-1]
    assert "Offene Entwürfe:\n• Erika Schulz: 987,15 €" in status
    assert "noch nicht heruntergeladen sind:\n• Thomas Müller: 378,42 €" in status
    assert "Gartenweg" not in status and "Lindenstraße" not in status  # customer and gross only


def test_a_draft_past_retention_is_deleted_with_a_receipt_and_its_preview_ends(
        app: Flask, client: FlaskClient, tenant: int, send_voice_note: SendVoiceNote,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    send_voice_note(CASES["waschbecken"])
    run_worker()
    preview = PREVIEW.search(button_messages(whatsapp_fake)[0].text)
    assert preview and client.get(preview.group(1)).status_code == 200
    services = get_services(app)
    assert purge_content(services, now=utcnow() + dt.timedelta(days=29)) == 0
    assert purge_content(services, now=utcnow() + dt.timedelta(days=31)) == 1
    with services.db.session() as session:
        receipt = session.scalars(select(DeletionReceipt)).one()
        assert receipt.trigger is DeletionTrigger.RETENTION and receipt.categories["draft"] == 1
        assert session.scalars(select(Invoice).where(Invoice.state == InvoiceState.DRAFT)).all() == []
    assert client.get(preview.group(1)).status_code in (404, 410)


def test_loeschen_deletes_open_drafts_and_the_export_lists_them_before(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    case = CASES["waschbecken"]
    send_voice_note(case)
    run_worker()
    with get_services(app).db.session() as session:
        document, files = collect_export(session, get_services(app).cipher, tenant)
    [draft] = document["drafts"]
    assert draft["fields"]["customer"]["name"] == "Thomas Müller" and draft["transcript"] == case["transcript"]
    assert document["invoices"] == [] and not any(name.endswith(".pdf") for name in files)

    send_reply("LÖSCHEN")
    run_worker()
    send_reply("JA")
    run_worker()
    assert "Löschbeleg" in texts(whatsapp_fake)[-1]
    assert open_drafts(app) == []
    with get_services(app).db.session() as session:
        receipt = session.scalars(select(DeletionReceipt)).one()
        assert receipt.trigger is DeletionTrigger.REQUEST and receipt.categories["draft"] == 1


def test_a_draft_with_many_lines_fits_whatsapps_limits(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic) -> None:
    case = copy.deepcopy(CASES["waschbecken"])
    case["fields"]["items"] = [{"description": f"Installationsmaterial Sorte {n} laut Aufmaß", "quantity": n,
                                "unit": "piece", "unit_price": 1.5, "kind": "material"} for n in range(1, 61)]
    send_voice_note(case)
    run_worker()
    [draft] = button_messages(whatsapp_fake)  # the fake Cloud API refuses what breaks a limit
    assert len(draft.body) <= MAX_BODY
    assert "weitere Positionen (siehe Vorschau)" in draft.text and "Brutto 3.266,55 €" in draft.text
    assert all(len(title) <= 20 for title in draft.titles) and len(draft.buttons) <= 3


def test_a_discarded_drafts_metadata_goes_after_retention_and_its_receipt_stays(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    send_voice_note(CASES["waschbecken"])
    run_worker()
    [shown] = button_messages(whatsapp_fake)
    send_reply("ABBRECHEN")
    run_worker()
    send_reply("das passt so nicht, bitte anders", quoting=shown.wamid)  # quoting the discarded draft
    run_worker()
    assert texts(whatsapp_fake)[-1] == "Dieser Entwurf wurde schon verworfen."
    services = get_services(app)
    purge_content(services, now=utcnow() + dt.timedelta(days=31))
    with services.db.session() as session:
        assert session.scalars(select(Invoice)).all() == []
        assert session.scalars(select(DeletionReceipt)).one().trigger is DeletionTrigger.DISCARD


def test_corrections_of_two_tenants_on_two_worker_processes_stay_in_order_and_apart(
        app: Flask, app_env: dict[str, str], add_tenant: AddTenant, send_voice_note: SendVoiceNote,
        send_reply: SendReply, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp,
        anthropic_fake: FakeAnthropic) -> None:
    add_tenant()
    add_tenant(phone=OTHER_PHONE, company="Malerbetrieb Kowalski")
    send_voice_note(CASES["waschbecken"])
    send_voice_note(CASES["maler"], phone=OTHER_PHONE)
    run_worker()
    for phone, case, first_word, second_word in ((TENANT_PHONE, "waschbecken", "Korrektur eins", "Korrektur zwei"),
                                                 (OTHER_PHONE, "maler", "Änderung eins", "Änderung zwei")):
        fields = CASES[case]["fields"]
        first = copy.deepcopy(fields["items"])
        first[0]["quantity"] = 7
        second = copy.deepcopy(first)
        second[-1]["unit_price"] = 99.0
        anthropic_fake.add_reply(first_word, revised(fields, items=first))
        anthropic_fake.add_reply(second_word, revised(fields, items=second))
        send_reply(f"{first_word}: 7 statt vorher", phone=phone)
        send_reply(f"{second_word}: das letzte kostet 99", phone=phone)

    workers = [start_worker_process(app_env) for _ in range(2)]
    outputs = [w.communicate(timeout=240)[0].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    for second_word, customer in (("Korrektur zwei", "Thomas Müller"), ("Änderung zwei", "Erika Schulz")):
        [request] = [str(c["messages"]) for c in anthropic_fake.calls if second_word in str(c["messages"])]
        assert '"quantity":"7"' in request and customer in request  # the first correction was applied before
    for phone, customer, other in ((TENANT_PHONE, "Thomas Müller", "Erika Schulz"),
                                   (OTHER_PHONE, "Erika Schulz", "Thomas Müller")):
        shown = button_messages(whatsapp_fake, phone)
        assert len(shown) == 3 and all(customer in m.text and other not in m.text for m in shown)
        assert "99,00 €" in shown[-1].text and "→ 7 " in shown[1].text
