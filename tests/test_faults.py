"""Faults on real processes: workers killed (SIGKILL) mid-job and on every try, Redis flushed under a running worker,
a send WhatsApp took whose answer timed out, permanent and temporary API errors, and a whole conversation with a
worker killed at each step. What counts is what the tradesperson sees: the messages sent, drafts, invoices and their
numbers, and the rows' states. No sleeps: every wait is for a condition, with a deadline."""
from __future__ import annotations

import copy
import datetime as dt
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from rq.registry import StartedJobRegistry
from sqlalchemy import select

from conversation.texts import render_text
from services import get_services
from store.models import (
    DraftMessage,
    InboundMessage,
    InboundState,
    Invoice,
    InvoiceState,
    OutboundReply,
    OutboundState,
    Outcome,
    utcnow,
)
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.base import Recorded
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    SAMPLES,
    TENANT_PHONE,
    WA_TOKEN,
    PostWebhook,
    Press,
    SendReply,
    SendText,
    SendVoiceNote,
    button_messages,
    finish_worker,
    kill_worker,
    load_cases,
    redis_client,
    spawn_worker,
    status_body,
    voice_body,
    wait_for,
)
from whatsapp import GraphError, GraphUnreachable, SendUncertain
from whatsapp.client import WhatsAppClient, build_http_session
from workers.queue import processing_job_id
from workers.retention import Recovered, recover_stuck

CASES = {c["id"]: c for c in load_cases()}
CASE = CASES["waschbecken"]
CUSTOMER = CASE["fields"]["customer"]["name"]


def later(app: Flask) -> dt.datetime:
    """The sweep's clock once a lease has passed: rows nobody touched since now count as left alone."""
    return utcnow() + dt.timedelta(seconds=get_services(app).settings.stuck_after_seconds + 1)


def rows(app: Flask) -> list[InboundMessage]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def invoices(app: Flask) -> list[Invoice]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(Invoice).order_by(Invoice.created_at)))


def replies(app: Flask) -> list[OutboundReply]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(OutboundReply).order_by(OutboundReply.id)))


def texts(whatsapp_fake: FakeWhatsApp) -> list[str]:
    return [text.replace("\xa0", " ") for text in whatsapp_fake.texts_to(TENANT_PHONE)]


def revised(fields: dict[str, Any], hours: int) -> dict[str, Any]:
    """The case's fields as the model returns them for a correction of the working hours."""
    result = copy.deepcopy(fields)
    result["items"][0]["quantity"] = hours
    result["intent"] = "correction"
    return result


def is_send(kind: str) -> Callable[[Recorded], bool]:
    return lambda request: isinstance(request.json, dict) and request.json.get("type") == kind


def kill_while_held(env: dict[str, str], log: Path, fake: FakeAnthropic | FakeWhatsApp, **hold: Any) -> None:
    """Start a worker, let it reach the fake's held request, SIGKILL it (work horse included) there, then let the
    fake answer into the void."""
    held = fake.hold_next(**hold)
    worker = spawn_worker(env, log)
    try:
        wait_for(lambda: held.arrived.is_set() or worker.poll() is not None, timeout=120,
                 what="the worker at the held request")
        assert held.arrived.is_set(), log.read_text(errors="replace")
    finally:
        kill_worker(worker)
        held.release()


def run_worker_process(env: dict[str, str], log: Path) -> str:
    return finish_worker(spawn_worker(env, log), log)


def test_a_worker_killed_on_every_try_ends_in_one_apology_failed_and_purged(
        app: Flask, app_env: dict[str, str], tenant: int, send_voice_note: SendVoiceNote, send_text: SendText,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic,
        tmp_path: Path) -> None:
    services = get_services(app)
    send_voice_note(CASE)
    kill_while_held(app_env, tmp_path / "first.log", anthropic_fake, path_contains="/v1/messages")
    assert recover_stuck(services, later(app)) == Recovered(requeued=1, given_up=0)
    kill_while_held(app_env, tmp_path / "second.log", anthropic_fake, path_contains="/v1/messages")
    # JOB_RETRIES=1: two tries, both died without a word (no failure callback runs in a killed process)
    [row] = rows(app)
    assert row.state is InboundState.PROCESSING and row.attempts == 2 and texts(whatsapp_fake) == []

    assert recover_stuck(services, later(app)) == Recovered(requeued=0, given_up=1)
    assert texts(whatsapp_fake) == [render_text("apology", "de")]
    [row] = rows(app)
    assert row.state is InboundState.FAILED and row.outcome is Outcome.APOLOGISED and row.error_code == "WorkerLost"
    assert row.body_sealed is None and row.media_id is None  # its sealed text and media id are gone
    assert invoices(app) == [] and button_messages(whatsapp_fake) == []
    assert recover_stuck(services, later(app)) == Recovered(requeued=0, given_up=0)  # never a second apology
    assert len(texts(whatsapp_fake)) == 1
    assert processing_job_id(row.id) not in StartedJobRegistry(services.queue.name, connection=services.redis)

    send_text("STATUS")  # the dead job's place in the tenant's line was freed: the next message is answered
    run_worker()
    assert texts(whatsapp_fake)[1:] == [render_text("status_empty", "de")]


def test_a_worker_killed_mid_job_is_resumed_by_one_sweep_before_the_tenants_later_message(
        app: Flask, app_env: dict[str, str], tenant: int, send_voice_note: SendVoiceNote, send_text: SendText,
        whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic, tmp_path: Path) -> None:
    services = get_services(app)
    send_voice_note(CASE)
    anthropic_fake.add_reply("fünf Stunden", revised(CASE["fields"], 5))
    send_text("Korrektur: fünf Stunden Arbeit")  # waits behind the voice note in the tenant's line
    kill_while_held(app_env, tmp_path / "killed.log", anthropic_fake, path_contains="/v1/messages")
    started = StartedJobRegistry(services.queue.name, connection=services.redis)
    first, second = rows(app)
    assert processing_job_id(first.id) in started.get_job_ids(cleanup=False)  # RQ still thinks it runs
    assert (first.state, second.state) == (InboundState.PROCESSING, InboundState.RECEIVED)

    # one sweep: the lost job goes back to the head of the line, not after RQ's ten-minute maintenance
    assert recover_stuck(services, later(app)) == Recovered(requeued=1, given_up=0)
    assert processing_job_id(first.id) not in started.get_job_ids(cleanup=False)
    output = run_worker_process(app_env, tmp_path / "restarted.log")

    draft, revision = button_messages(whatsapp_fake)  # the voice note first, then the correction of its draft
    assert CUSTOMER in draft.text and "→ 5 " in revision.text, output
    assert texts(whatsapp_fake) == []
    assert [(r.state, r.attempts) for r in rows(app)] == [(InboundState.DONE, 2), (InboundState.DONE, 1)]
    assert len(invoices(app)) == 1


def test_a_redis_flush_under_a_running_worker_loses_no_message(
        app: Flask, app_env: dict[str, str], tenant: int, send_voice_note: SendVoiceNote, send_text: SendText,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic,
        tmp_path: Path) -> None:
    services = get_services(app)
    send_voice_note(CASE)
    send_text("STATUS")  # queued behind the voice note
    held = anthropic_fake.hold_next(path_contains="/v1/messages")
    log = tmp_path / "worker.log"
    worker = spawn_worker(app_env, log)
    wait_for(lambda: held.arrived.is_set() or worker.poll() is not None, timeout=120, what="the held request")
    assert held.arrived.is_set(), log.read_text(errors="replace")
    redis_client(app_env["REDIS_URL"]).flushdb()  # every queued job, registry and rate limit gone
    held.release()
    finish_worker(worker, log)  # the running turn ends; the queue it would take the next job from is empty

    [draft] = button_messages(whatsapp_fake)
    assert [r.state for r in rows(app)] == [InboundState.DONE, InboundState.RECEIVED]
    assert recover_stuck(services, later(app)) == Recovered(requeued=1, given_up=0)
    run_worker()
    [status] = texts(whatsapp_fake)
    assert CUSTOMER in status  # STATUS lists the open draft
    assert [r.state for r in rows(app)] == [InboundState.DONE, InboundState.DONE]
    assert button_messages(whatsapp_fake) == [draft]


def test_a_send_whatsapp_took_whose_answer_timed_out_is_settled_by_its_status_webhook_and_sent_once(
        app: Flask, app_env: dict[str, str], tenant: int, send_voice_note: SendVoiceNote,
        post_webhook: PostWebhook, whatsapp_fake: FakeWhatsApp, tmp_path: Path) -> None:
    env = {**app_env, "HTTP_TIMEOUT": "1", "REPLY_SETTLE_SECONDS": "60"}
    send_voice_note(CASE)
    # WhatsApp takes the draft message, then answers only after the worker's 1 s timeout
    held = whatsapp_fake.hold_next(path_contains="/messages", match=is_send("interactive"), after_handling=True,
                                   seconds=3)
    log = tmp_path / "worker.log"
    worker = spawn_worker(env, log)
    wait_for(lambda: held.arrived.is_set() or worker.poll() is not None, timeout=120, what="the held send")
    assert held.arrived.is_set(), log.read_text(errors="replace")
    assert post_webhook(status_body(whatsapp_fake)).status_code == 200  # "sent", with the send's callback data
    output = finish_worker(worker, log)

    assert "ReadTimeout" in output  # the worker did not hear WhatsApp's answer...
    [draft] = button_messages(whatsapp_fake)  # ...and sent the draft once all the same
    [row] = rows(app)
    assert row.state is InboundState.DONE and row.outcome is Outcome.DRAFTED and row.attempts == 1
    [reply] = replies(app)
    assert reply.state is OutboundState.SENT and reply.sends == 1
    services = get_services(app)
    with services.db.session() as session:  # the id from the status webhook: a reply quoting the draft finds it
        assert session.get(DraftMessage, services.cipher.pseudonym(draft.wamid)) is not None


def test_a_send_that_never_settles_goes_out_once_more_and_no_more(
        app: Flask, app_env: dict[str, str], tenant: int, send_voice_note: SendVoiceNote,
        whatsapp_fake: FakeWhatsApp, tmp_path: Path) -> None:
    env = {**app_env, "HTTP_TIMEOUT": "1", "REPLY_SETTLE_SECONDS": "1"}
    send_voice_note(CASE)
    whatsapp_fake.hold_next(path_contains="/messages", match=is_send("interactive"), after_handling=True, seconds=3)
    run_worker_process(env, tmp_path / "worker.log")
    # no status webhook came within REPLY_SETTLE_SECONDS: the bound this design accepts is one more send
    assert len(button_messages(whatsapp_fake)) == 2
    [reply] = replies(app)
    assert reply.state is OutboundState.SENT and reply.sends == 2
    assert rows(app)[0].state is InboundState.DONE


def test_sends_are_retried_only_where_whatsapp_cannot_have_taken_them(whatsapp_fake: FakeWhatsApp) -> None:
    client = WhatsAppClient(whatsapp_fake.api_base, WA_TOKEN, "1122334455667", build_http_session(3, 0), timeout=1)

    def sends() -> int:
        return len([r for r in whatsapp_fake.requests if r.path.endswith("/messages")])

    # 429 and 503 are Meta's answers for requests it did not process: tried again
    whatsapp_fake.fail_next(1, 429, {"error": {"message": "(#130429) Rate limit hit", "code": 130429}})
    whatsapp_fake.fail_next(1, 503, {"error": {"message": "Service unavailable", "code": 131016}})
    assert client.send_text(TENANT_PHONE, "eins").startswith("wamid.")
    assert sends() == 3 and whatsapp_fake.texts_to(TENANT_PHONE) == ["eins"]

    # a 500 or a timeout may come after WhatsApp took the message: not sent again, the outcome is open
    whatsapp_fake.fail_next(1, 500, {"error": {"message": "An unknown error occurred", "code": 1}})
    with pytest.raises(SendUncertain):
        client.send_text(TENANT_PHONE, "zwei")
    assert sends() == 4
    whatsapp_fake.hold_next(path_contains="/messages", after_handling=True, seconds=2)
    with pytest.raises(SendUncertain):
        client.send_text(TENANT_PHONE, "drei")
    assert sends() == 5 and whatsapp_fake.texts_to(TENANT_PHONE) == ["eins", "drei"]

    # refused: nothing sent; permanent unless Meta says "later" (pair rate limit)
    whatsapp_fake.fail_next(1, 400, {"error": {"message": "(#131009) Parameter value is not valid", "code": 131009}})
    with pytest.raises(GraphError) as refused:
        client.send_text(TENANT_PHONE, "vier")
    assert refused.value.permanent
    whatsapp_fake.fail_next(1, 400, {"error": {"message": "(#131056) pair rate limit hit", "code": 131056}})
    with pytest.raises(GraphError) as throttled:
        client.send_text(TENANT_PHONE, "fünf")
    assert not throttled.value.permanent and sends() == 7

    # no connection at all: nothing went out (connecting is retried)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = WhatsAppClient(f"http://127.0.0.1:{port}/v25.0", WA_TOKEN, "1122334455667", build_http_session(3, 0),
                            timeout=1)
    with pytest.raises(GraphUnreachable):
        closed.send_text(TENANT_PHONE, "sechs")


def test_a_400_from_the_model_is_answered_at_once_with_what_was_wrong_and_not_retried(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.fail_next(1, 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                                 "message": "prompt is too long"}})
    send_voice_note(CASE)
    run_worker()
    support = get_services(app).settings.support_contact
    assert texts(whatsapp_fake) == [render_text("problem_refused", "de", service="das Sprachmodell", status=400,
                                                support=support)]
    assert len([r for r in anthropic_fake.requests if r.path == "/v1/messages"]) == 1  # no retry, by SDK or RQ
    [row] = rows(app)
    assert (row.state, row.outcome, row.attempts) == (InboundState.FAILED, Outcome.PROBLEM_EXPLAINED, 1)
    assert row.error_code == "ExtractionServiceFailed" and row.body_sealed is None
    assert invoices(app) == []


def test_500s_from_the_model_are_retried_and_the_draft_comes(
        app: Flask, tenant: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, anthropic_fake: FakeAnthropic) -> None:
    anthropic_fake.fail_next(2, 500, {"type": "error", "error": {"type": "api_error", "message": "Internal error"}})
    send_voice_note(CASE)
    run_worker()
    [draft] = button_messages(whatsapp_fake)  # the SDK tried twice (AI_RETRIES=1), RQ's retry then got through
    assert CUSTOMER in draft.text and texts(whatsapp_fake) == []
    assert len([r for r in anthropic_fake.requests if r.path == "/v1/messages"]) == 3
    [row] = rows(app)
    assert (row.state, row.outcome, row.attempts) == (InboundState.DONE, Outcome.DRAFTED, 2)


@pytest.mark.parametrize("problem", ["corrupt_audio", "empty_audio", "not_audio", "media_gone"])
def test_unusable_media_is_answered_at_once_with_what_was_wrong(
        app: Flask, tenant: int, post_webhook: PostWebhook, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic, problem: str) -> None:
    audio = (SAMPLES / CASE["audio"]).read_bytes()
    media_id, mime_type, expected = "media-1", "audio/ogg; codecs=opus", render_text("problem_audio", "de")
    if problem == "corrupt_audio":
        openai_fake.fail_next(1, 400, {"error": {"message": "Invalid file format.", "type": "invalid_request_error",
                                                 "param": "file", "code": None}})
    elif problem == "empty_audio":
        openai_fake.add_transcript(audio, "")
    elif problem == "not_audio":
        mime_type, expected = "image/jpeg", render_text("problem_media_type", "de", type="image/jpeg")
    else:
        media_id, expected = "media-deleted", render_text("problem_media_gone", "de")
    if media_id == "media-1":
        whatsapp_fake.add_media(media_id, audio, mime_type)
    assert post_webhook(voice_body(TENANT_PHONE, "wamid.problem", media_id)).status_code == 200
    run_worker()
    assert texts(whatsapp_fake) == [expected]
    [row] = rows(app)
    assert (row.state, row.outcome, row.attempts) == (InboundState.FAILED, Outcome.PROBLEM_EXPLAINED, 1)
    assert anthropic_fake.calls == [] and invoices(app) == []


def test_a_conversation_with_a_worker_killed_at_every_step_is_answered_exactly_once(
        app: Flask, app_env: dict[str, str], tenant: int, send_voice_note: SendVoiceNote, send_reply: SendReply,
        press: Press, post_webhook: PostWebhook, run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp,
        anthropic_fake: FakeAnthropic, tmp_path: Path) -> None:
    services = get_services(app)
    year = dt.date.today().year

    # 1. the voice note: killed while the model extracts, resumed by one sweep -> one draft
    send_voice_note(CASE)
    kill_while_held(app_env, tmp_path / "1-killed.log", anthropic_fake, path_contains="/v1/messages")
    assert recover_stuck(services, later(app)) == Recovered(requeued=1, given_up=0)
    run_worker_process(app_env, tmp_path / "1-resumed.log")
    [draft] = button_messages(whatsapp_fake)

    # 2. a correction quoting the draft: killed while the model revises -> one revision
    anthropic_fake.add_reply("vier Stunden", revised(CASE["fields"], 4))
    send_reply("Es waren vier Stunden", quoting=draft.wamid)
    kill_while_held(app_env, tmp_path / "2-killed.log", anthropic_fake, path_contains="/v1/messages")
    assert recover_stuck(services, later(app)) == Recovered(requeued=1, given_up=0)
    run_worker_process(app_env, tmp_path / "2-resumed.log")
    draft, revision = button_messages(whatsapp_fake)
    assert "→ 4 " in revision.text

    # 3. "Erstellen": killed after WhatsApp took the invoice message, before its answer came back; WhatsApp's status
    # webhook settles it, and the retried turn sends nothing again
    press("Erstellen", revision)
    kill_while_held(app_env, tmp_path / "3-killed.log", whatsapp_fake, path_contains="/messages",
                    match=is_send("text"), after_handling=True)
    assert post_webhook(status_body(whatsapp_fake)).status_code == 200
    assert recover_stuck(services, later(app)) == Recovered(requeued=1, given_up=0)
    run_worker_process(app_env, tmp_path / "3-resumed.log")

    [ready] = texts(whatsapp_fake)
    assert ready.startswith("✅") and CUSTOMER in ready
    assert len(button_messages(whatsapp_fake)) == 2  # one draft, one revision: nothing shown twice
    assert [(r.state, r.attempts) for r in rows(app)] == [(InboundState.DONE, 2)] * 3
    assert rows(app)[-1].outcome is Outcome.ANSWERED
    [invoice] = invoices(app)
    assert invoice.state is InvoiceState.ISSUED and invoice.number == f"RE-{year}-0001" in ready
    assert all(reply.state is OutboundState.SENT and reply.sends == 1 for reply in replies(app))

    # the numbering went on without a gap
    send_voice_note(CASES["steckdosen"])
    run_worker()
    press("Erstellen")
    run_worker()
    assert [i.number for i in invoices(app)] == [f"RE-{year}-0001", f"RE-{year}-0002"]
