"""A key store that goes away for a moment (its host cut off by a loopback proxy, then back): a voice note's job
waits and is tried again, a download gets a page that explains and works with the same link later; nothing is lost,
no apology is sent, no bare 500."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker
from sqlalchemy import make_url, select

from services import get_services
from store.models import InboundMessage, InboundState
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    TENANT_PHONE,
    IssueByVoice,
    SendVoiceNote,
    button_messages,
    empty_key_store,
    link_paths,
    load_cases,
    wait_for,
)

CASES = {c["id"]: c for c in load_cases()}


@pytest.fixture
def proxy(postgres_key_store_url: str) -> Iterator[TcpProxy]:
    empty_key_store(postgres_key_store_url)
    url = make_url(postgres_key_store_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest.fixture
def app_env(app_env: dict[str, str], postgres_key_store_url: str, proxy: TcpProxy) -> dict[str, str]:
    """The PostgreSQL key store behind the proxy; a job is tried again a second after a failed try."""
    proxied = make_url(postgres_key_store_url).set(host="127.0.0.1", port=proxy.port)
    return {**app_env, "KEY_STORE_URL": proxied.render_as_string(hide_password=False), "JOB_RETRIES": "3",
            "JOB_RETRY_INTERVALS": "[1, 1, 1]"}


def rows(app: Flask) -> list[InboundMessage]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def run_due_retries(app: Flask) -> bool:
    """A burst worker with RQ's scheduler: retries that are due are enqueued, then run."""
    services = get_services(app)
    with app.app_context():
        SimpleWorker([services.queue], connection=services.redis, log_job_description=False).work(
            burst=True, with_scheduler=True)
    return False


def test_a_key_store_gone_for_a_moment_delays_a_job_and_a_download_but_loses_nothing(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        send_voice_note: SendVoiceNote, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp,
        proxy: TcpProxy) -> None:
    issue_by_voice(CASES["waschbecken"])
    [path] = link_paths(whatsapp_fake)
    sent = whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))
    proxy.cut()

    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["key_store"] == "unreachable"
    page = client.post(path)
    assert page.status_code == 503 and page.headers["Retry-After"] == "60"
    assert "in ein paar Minuten mit demselben Link" in page.get_data(as_text=True)

    send_voice_note(CASES["maler"])
    run_worker()  # the turn fails where it seals the draft: RQ tries it again in a second
    assert len(button_messages(whatsapp_fake)) == 1  # no draft yet, and not a word of apology
    assert whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+")) == sent
    assert [(r.state, r.attempts) for r in rows(app)][-1] == (InboundState.PROCESSING, 1)  # waiting for its retry
    proxy.restore()
    wait_for(lambda: run_due_retries(app) or len(button_messages(whatsapp_fake)) == 2, timeout=60,
             what="the draft after the outage")

    draft = button_messages(whatsapp_fake)[1]
    assert CASES["maler"]["fields"]["customer"]["name"] in draft.text and "Erstellen" in draft.titles
    assert whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+")) == sent  # still only the first invoice's link
    last = rows(app)[-1]
    assert last.state is InboundState.DONE and last.attempts >= 2
    response = client.post(path)  # the same link, now that the store is back
    assert response.status_code == 200 and response.mimetype == "application/pdf"
