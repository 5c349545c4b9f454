"""Gapless numbers with two worker processes; retention purge, download grace and the sweep."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from services import get_services
from store.models import (
    DataKey,
    DeletionReceipt,
    DeletionTrigger,
    InboundMessage,
    InboundState,
    Invoice,
    InvoiceState,
    SealedContent,
    utcnow,
)
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    TENANT_PHONE,
    AddTenant,
    IssueByVoice,
    Press,
    SendVoiceNote,
    button_messages,
    load_cases,
    start_worker_process,
)
from workers.retention import purge_content, requeue_stuck

INVOICE_CASES = [c for c in load_cases() if c["expected"]]
OTHER_PHONE = "+4915112345678"


def test_two_workers_at_once_give_unique_gapless_numbers_per_tenant(
        app: Flask, app_env: dict[str, str], add_tenant: AddTenant, send_voice_note: SendVoiceNote,
        press: Press, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    """Two worker processes take the "Erstellen" presses of two tenants at once (a tenant's own jobs wait
    for each other): every tenant's numbers come out unique and without gaps."""
    phones = {add_tenant(): TENANT_PHONE, add_tenant(phone=OTHER_PHONE, company="Sanitär Kurz"): OTHER_PHONE}
    per_tenant = 4
    for phone in phones.values():
        for i in range(per_tenant):
            send_voice_note(INVOICE_CASES[i % len(INVOICE_CASES)], phone=phone)
    run_worker()
    with get_services(app).db.session() as session:
        assert session.scalars(select(Invoice.number)).all() == [None] * per_tenant * len(phones)  # drafts only
    for phone in phones.values():
        drafts = button_messages(whatsapp_fake, phone)
        assert len(drafts) == per_tenant
        for draft in drafts:
            press("Erstellen", draft, phone=phone)
    workers = [start_worker_process(app_env) for _ in range(2)]
    outputs = [w.communicate(timeout=240)[0].decode() for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert all("Job OK" in out for out in outputs), "both workers must have taken jobs"
    year = dt.date.today().year
    with get_services(app).db.session() as session:
        for tenant_id, phone in phones.items():
            numbers = sorted(session.scalars(select(Invoice.number).where(Invoice.tenant_id == tenant_id)))
            assert numbers == [f"RE-{year}-{n:04d}" for n in range(1, per_tenant + 1)], phone
            ready = [t for t in whatsapp_fake.texts_to(phone.lstrip("+")) if t.startswith("✅")]
            assert sorted(t.split()[2] for t in ready) == numbers


def content_rows(app: Flask) -> tuple[int, int]:
    with get_services(app).db.session() as session:
        return len(session.scalars(select(SealedContent)).all()), len(session.scalars(select(DataKey)).all())


def test_retention_purge_deletes_content_after_thirty_days_only(
        app: Flask, tenant: int, issue_by_voice: IssueByVoice) -> None:
    issue_by_voice(INVOICE_CASES[0])
    services = get_services(app)
    assert purge_content(services, now=utcnow() + dt.timedelta(days=29)) == 0
    assert content_rows(app) == (4, 1)  # transcript, fields, pdf, xml; one data key
    assert purge_content(services, now=utcnow() + dt.timedelta(days=30, minutes=1)) == 1
    assert content_rows(app) == (0, 0)
    with services.db.session() as session:
        invoice = session.scalars(select(Invoice)).one()
        assert invoice.state is InvoiceState.DELETED and invoice.number.startswith("RE-")
        receipt = session.scalars(select(DeletionReceipt)).one()
        assert receipt.trigger is DeletionTrigger.RETENTION
        # the link itself had expired after 7 days and was swept at day 29
        assert receipt.categories == {"transcript": 1, "fields": 1, "pdf": 1, "xml": 1, "data_key": 1, "key_file": 1,
                                      "invoice": 1}


def test_purge_cli_deletes_old_content(
        app: Flask, tenant: int, issue_by_voice: IssueByVoice) -> None:
    issue_by_voice(INVOICE_CASES[0])
    with get_services(app).db.session() as session:
        session.execute(update(Invoice).values(created_at=utcnow() - dt.timedelta(days=31),
                                               expires_at=utcnow() - dt.timedelta(days=1)))
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0 and "content of 1 invoices deleted" in result.output
    assert content_rows(app) == (0, 0)


def test_download_with_grace_period_deletes_later(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp) -> None:
    services = get_services(app)
    services.settings.download_grace_seconds = 120
    issue_by_voice(INVOICE_CASES[0])
    link = whatsapp_fake.texts_to("4917612345678")[0].split("https://rechnung.example")[1].split()[0]
    assert client.post(link).status_code == 200
    assert client.post(link).status_code == 200  # within the grace period the link still works
    assert content_rows(app) == (4, 1)  # transcript, fields, pdf, xml; one data key
    assert purge_content(services, now=utcnow() + dt.timedelta(seconds=121)) == 1
    assert content_rows(app) == (0, 0)
    assert client.post(link).status_code == 410


def test_sweep_requeues_messages_whose_job_was_lost(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    send_voice_note(INVOICE_CASES[0])
    services = get_services(app)
    services.queue.empty()  # the job is lost (e.g. Redis was flushed)
    assert requeue_stuck(services) == 0  # too recent to call it stuck
    with services.db.session() as session:
        session.execute(update(InboundMessage).values(updated_at=utcnow() - dt.timedelta(hours=1)))
    assert requeue_stuck(services) == 1
    run_worker()
    with services.db.session() as session:
        assert session.scalars(select(InboundMessage)).one().state is InboundState.DONE
    [draft] = button_messages(whatsapp_fake)  # the voice note was processed once after all: its draft
    assert "Entwurf für" in draft.text and draft.titles == ["Erstellen", "Ändern", "Verwerfen"]


def test_expired_link_is_410_and_unknown_is_404(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp) -> None:
    issue_by_voice(INVOICE_CASES[0])
    link = whatsapp_fake.texts_to("4917612345678")[0].split("https://rechnung.example")[1].split()[0]
    from store.models import MagicLink

    with get_services(app).db.session() as session:
        session.execute(update(MagicLink).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    page = client.get(link)
    assert page.status_code == 410 and "abgelaufen" in page.get_data(as_text=True)
    assert client.post(link).status_code == 410
    assert client.get("/d/not-a-real-token").status_code == 404


