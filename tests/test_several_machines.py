"""Several machines: the web process and two worker processes, each with its own empty instance folder and KEY_DIR,
share only the database, Redis and the key store (PostgreSQL). Drafts made on one worker are issued and one of them
cancelled (Storno) on the other; the web process serves the downloads; deletion after download and retention
leave receipts and no key anywhere. Production refuses to start on what lives on one machine."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import ConfigError, create_app
from services import get_services
from store.models import DeletionReceipt, DeletionTrigger, Invoice, InvoiceState, utcnow
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    ROOT,
    AddTenant,
    Press,
    SendText,
    SendVoiceNote,
    empty_key_store,
    finish_worker,
    link_paths,
    load_cases,
    read_page_texts,
    spawn_worker,
    wait_for,
)
from workers.retention import purge_content

CASES = {c["id"]: c for c in load_cases()}
OTHER_PHONE = "+4915112345679"


@pytest.fixture
def app_env(app_env: dict[str, str], postgres_key_store_url: str) -> dict[str, str]:
    empty_key_store(postgres_key_store_url)
    return {**app_env, "KEY_STORE_URL": postgres_key_store_url}


def machine_env(app_env: dict[str, str], folder: Path) -> dict[str, str]:
    """A machine of its own: an empty instance folder and KEY_DIR, nothing shared but the URLs and secrets."""
    folder.mkdir(exist_ok=True)
    return {**app_env, "INSTANCE_PATH": str(folder), "KEY_DIR": str(folder / "keys")}


def run_machine(app_env: dict[str, str], folder: Path) -> str:
    """A burst worker process on a machine of its own; its output."""
    log = folder / "worker.log"
    return finish_worker(spawn_worker(machine_env(app_env, folder), log), log)


def start_machine(app_env: dict[str, str], folder: Path) -> subprocess.Popen[bytes]:
    """`flask --app app worker` (with RQ's scheduler) on a machine of its own, until terminated."""
    env = {**os.environ, **machine_env(app_env, folder)}
    with (folder / "worker.log").open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def test_web_and_two_workers_share_only_database_redis_and_key_store(
        app: Flask, client: FlaskClient, app_env: dict[str, str], add_tenant: AddTenant,
        send_voice_note: SendVoiceNote, send_text: SendText, press: Press, whatsapp_fake: FakeWhatsApp,
        tmp_path: Path) -> None:
    services = get_services(app)
    first, second = tmp_path / "worker-1", tmp_path / "worker-2"
    mine, theirs = add_tenant(), add_tenant(phone=OTHER_PHONE, company="Malerbetrieb Kowalski")
    send_voice_note(CASES["waschbecken"])
    send_voice_note(CASES["maler"], phone=OTHER_PHONE)
    assert "Successfully completed job" in run_machine(app_env, first)  # both drafts, keys in the shared store
    second_machine = start_machine(app_env, second)  # a long-running worker, as in production
    try:
        press("Erstellen")
        press("Erstellen", phone=OTHER_PHONE)
        wait_for(lambda: len(link_paths(whatsapp_fake)) == 1 and len(link_paths(whatsapp_fake, OTHER_PHONE)) == 1,
                 timeout=120, what="both invoices")  # issued there: the drafts' keys were read on that machine
        with services.db.session() as session:
            number = session.scalars(select(Invoice.number).where(Invoice.tenant_id == mine)).one()
        send_text(f"STORNO {number}")
        wait_for(lambda: len(link_paths(whatsapp_fake)) == 2, timeout=60, what="the Stornorechnung")
    finally:
        second_machine.terminate()
        second_machine.wait(timeout=30)

    original, cancellation = link_paths(whatsapp_fake)
    [kept] = link_paths(whatsapp_fake, OTHER_PHONE)
    pdf = client.post(cancellation)
    assert pdf.status_code == 200 and f"Storno zur Rechnung {number}" in " ".join(read_page_texts(pdf.data))
    assert client.post(original).status_code == 200
    assert client.post(original).status_code == 410  # downloaded: its content is gone
    assert purge_content(services, now=utcnow() + dt.timedelta(days=31)) == 2  # the other invoice, the new draft
    assert client.post(kept).status_code == 404  # its link expired with it

    assert services.key_store.list_refs() == []
    with services.db.session() as session:
        receipts = sorted((r.tenant_id, r.trigger) for r in session.scalars(select(DeletionReceipt)))
        numbered = {(i.tenant_id, i.number): i.state
                    for i in session.scalars(select(Invoice).where(Invoice.number.is_not(None)))}
    assert receipts == sorted([(mine, DeletionTrigger.DOWNLOAD), (mine, DeletionTrigger.DOWNLOAD),
                               (mine, DeletionTrigger.RETENTION), (theirs, DeletionTrigger.RETENTION)])
    assert numbered == {(mine, number): InvoiceState.CANCELLED, (mine, number[:-4] + "0002"): InvoiceState.DELETED,
                        (theirs, number): InvoiceState.DELETED}  # a cancelled invoice stays cancelled, its content gone
    for folder in (tmp_path / "instance", first, second):  # nothing of the content on any machine's disk
        assert not list(folder.rglob("*.key")) and not (folder / "keys").exists(), folder
        assert not (folder / "app.db").exists() and not (folder / "redis.db").exists()
    assert "Successfully completed job" in (second / "worker.log").read_text(errors="replace")


@pytest.mark.parametrize(("overrides", "named"), [
    ({"database_url": ""}, "share no disk: set DATABASE_URL (the default SQLite file lives in one machine's instance"),
    ({"redis_url": ""}, "share no disk: set REDIS_URL (the embedded Redis lives in one process)"),
    ({"key_store_url": ""}, "KEY_STORE_URL to redis://... or postgresql://... (key files live on one machine's disk)"),
    ({"key_store_url": "file:///srv/keys"}, "KEY_STORE_URL to redis://... or postgresql://..."),
    ({"key_store_url": "postgresql://app@db.internal:5432/rechnung", "database_url":
      "postgresql+psycopg://app@db.internal:5432/rechnung"}, "KEY_STORE_URL must name a database of its own"),
    ({"key_store_url": "redis://queue.internal:6379/3", "redis_url": "redis://queue.internal:6379/0"},
     "KEY_STORE_URL must name a Redis server of its own"),
])
def test_production_refuses_what_lives_on_one_machine_in_one_line(
        app_env: dict[str, str], tmp_path: Path, overrides: dict[str, Any], named: str) -> None:
    config: dict[str, Any] = {k.lower(): v for k, v in app_env.items() if k != "JOB_RETRY_INTERVALS"}
    config.update(app_env="production", secret_key="s" * 40, instance_path=str(tmp_path / "instance"))
    shared = create_app(config)  # the database, Redis and the key store by URL: it starts (nothing connects)
    assert get_services(shared).settings.is_production
    get_services(shared).close()
    with pytest.raises(ConfigError) as refused:
        create_app({**config, **overrides})
    message = str(refused.value)
    assert named in message and "\n" not in message
