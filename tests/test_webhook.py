"""The webhook: verification, signatures, parsing every recorded body, duplicates, unknown senders."""
from __future__ import annotations

import copy
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq.rate_limit import RateLimitRegistry
from sqlalchemy import func, select

from services import get_services
from store.models import InboundMessage, InboundState, Invoice, MessageKind, SenderNotice, Tenant
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import APP_SECRET, DATA, TENANT_PHONE, AddTenant, PostWebhook, voice_body
from whatsapp.signature import sign_body
from workers.queue import tenant_turns


def count(app: Flask, model: Any) -> int:
    with get_services(app).db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_subscription_challenge_is_echoed_only_with_the_right_token(client: FlaskClient) -> None:
    ok = client.get("/webhook", query_string={"hub.mode": "subscribe", "hub.verify_token": "verify-me",
                                              "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "1158201444" and ok.mimetype == "text/plain"
    bad = client.get("/webhook", query_string={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                               "hub.challenge": "1158201444"})
    assert bad.status_code == 403


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "garbage"])
def test_bad_or_missing_signature_is_401_and_nothing_is_stored(
        app: Flask, tenant: int, post_webhook: PostWebhook, signature: str | None) -> None:
    response = post_webhook(voice_body(TENANT_PHONE, "wamid.sig", "media-1"), signature=signature)
    assert response.status_code == 401
    assert count(app, InboundMessage) == 0
    assert get_services(app).queue.count == 0


def test_signature_is_checked_on_the_raw_bytes(app: Flask, tenant: int, post_webhook: PostWebhook) -> None:
    body = json.dumps(voice_body(TENANT_PHONE, "wamid.raw", "media-1")).encode()
    reformatted = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other bytes
    assert post_webhook(reformatted, signature=sign_body(APP_SECRET, body)).status_code == 401


def test_invalid_json_is_400(post_webhook: PostWebhook) -> None:
    assert post_webhook(b"{not json").status_code == 400
    assert post_webhook(b'{"entry": "no object"}').status_code == 400


@pytest.mark.parametrize("file", sorted(p.name for p in DATA.glob("*.json")))
def test_every_recorded_body_is_acknowledged(app: Flask, post_webhook: PostWebhook, file: str) -> None:
    bodies = json.loads((DATA / file).read_text())
    for name, body in bodies.items():
        response = post_webhook(body)
        assert response.status_code == 200, (file, name)
    statuses = sum(len(c["value"].get("statuses", [])) for b in bodies.values() for e in b["entry"]
                   for c in e["changes"])
    if file == "message_status.json":
        assert statuses > 0 and count(app, InboundMessage) == 0  # statuses are acknowledged, not stored


def test_a_batch_with_many_entries_changes_and_messages_is_stored_whole(
        app: Flask, tenant: int, post_webhook: PostWebhook) -> None:
    body = voice_body(TENANT_PHONE, "wamid.batch-0", "media-0")
    change = body["entry"][0]["changes"][0]
    template = change["value"]["messages"][0]
    change["value"]["messages"] = [{**copy.deepcopy(template), "id": f"wamid.batch-{i}"} for i in range(300)]
    status_body = json.loads((DATA / "message_status.json").read_text())["delivered"]
    change2 = copy.deepcopy(change)
    change2["value"]["messages"] = [{**copy.deepcopy(template), "id": f"wamid.batch-b{i}"} for i in range(200)]
    body["entry"].append({"id": "2", "changes": [change2, status_body["entry"][0]["changes"][0]]})
    response = post_webhook(body)
    assert response.status_code == 200
    assert (response.get_json()["new"], response.get_json()["enqueued"]) == (500, 500)
    assert count(app, InboundMessage) == 500
    services = get_services(app)
    assert services.queue.count == 1  # one job per tenant at a time: the others wait their turn in RQ
    waiting = RateLimitRegistry(tenant_turns(services.queue, tenant).key, services.redis)
    assert waiting.get_rate_limited_job_count() == 499


def test_same_message_three_times_is_stored_and_enqueued_once(
        app: Flask, tenant: int, post_webhook: PostWebhook) -> None:
    body = voice_body(TENANT_PHONE, "wamid.dup", "media-1")
    answers = [post_webhook(body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.get_json()["new"] for a in answers] == [1, 0, 0]
    assert [a.get_json()["enqueued"] for a in answers] == [1, 0, 0]
    assert count(app, InboundMessage) == 1
    services = get_services(app)
    assert services.queue.count == 1
    assert RateLimitRegistry(tenant_turns(services.queue, tenant).key, services.redis).get_rate_limited_job_count() == 0


def test_unknown_sender_is_never_downloaded_or_processed(
        app: Flask, tenant: int, post_webhook: PostWebhook, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    response = post_webhook(voice_body("+4915199999999", "wamid.stranger", "media-x"))
    assert response.status_code == 200
    run_worker()
    assert whatsapp_fake.media_downloads == []
    assert count(app, InboundMessage) == 0  # only a pseudonymous rate-limit record (see test_onboarding)
    assert count(app, Invoice) == 0


def test_unverified_tenant_is_not_processed(
        app: Flask, add_tenant: AddTenant, post_webhook: PostWebhook,
        run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    add_tenant(verified=False)
    post_webhook(voice_body(TENANT_PHONE, "wamid.unverified", "media-x"))
    run_worker()
    assert whatsapp_fake.media_downloads == []
    assert count(app, InboundMessage) == 0


def test_user_id_is_kept_so_a_message_without_number_finds_its_tenant(
        app: Flask, tenant: int, post_webhook: PostWebhook) -> None:
    first = voice_body(TENANT_PHONE, "wamid.with-number", "media-1")
    post_webhook(first)
    user_id = first["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"]
    second = voice_body(TENANT_PHONE, "wamid.only-user-id", "media-2")
    value = second["entry"][0]["changes"][0]["value"]
    del value["messages"][0]["from"]
    value["messages"][0]["from_user_id"] = user_id
    value["contacts"] = [{"profile": {"name": "x"}, "user_id": user_id}]
    assert post_webhook(second).status_code == 200
    with get_services(app).db.session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [r.tenant_id for r in rows] == [tenant, tenant]
        assert [r.state for r in rows] == [InboundState.RECEIVED, InboundState.RECEIVED]
        assert rows[0].kind is MessageKind.VOICE
        stored = session.get_one(Tenant, tenant)
        assert stored.wa_user_hmac and user_id not in stored.wa_user_hmac



def test_a_user_id_already_kept_for_another_tenant_does_not_break_the_batch(
        app: Flask, add_tenant: AddTenant, post_webhook: PostWebhook) -> None:
    first, second = add_tenant(), add_tenant(phone="+4915112345678", company="Sanitär Kurz")
    shared_user_id = "US.13491208655302741918"
    for phone, message_id in ((TENANT_PHONE, "wamid.a"), ("+4915112345678", "wamid.b")):
        body = voice_body(phone, message_id, "media-1")
        body["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"] = shared_user_id
        assert post_webhook(body).status_code == 200
    with get_services(app).db.session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [r.tenant_id for r in rows] == [first, second]


def test_the_challenge_is_echoed_as_plain_text_never_as_html(client: FlaskClient) -> None:
    markup = "<script>alert(document.domain)</script>"
    response = client.get("/webhook", query_string={"hub.mode": "subscribe", "hub.verify_token": "verify-me",
                                                    "hub.challenge": markup})
    assert response.status_code == 200 and response.get_data(as_text=True) == markup
    assert response.mimetype == "text/plain"


def test_the_verify_token_is_compared_in_constant_time(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[Any, Any]] = []
    constant_time = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    answers = [client.get("/webhook", query_string={"hub.mode": "subscribe", "hub.verify_token": token,
                                                    "hub.challenge": "42"}).status_code
               for token in ("verify-mf", "verify-me", "vérify-me", "")]
    assert answers == [403, 200, 403, 403]
    assert (b"verify-mf", b"verify-me") in compared and (b"verify-me", b"verify-me") in compared


def sent_at(body: dict[str, Any], seconds_ago: float | None) -> dict[str, Any]:
    """The body's message stamped `seconds_ago` (None: without a timestamp)."""
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    if seconds_ago is None:
        del message["timestamp"]
    else:
        message["timestamp"] = str(int(time.time() - seconds_ago))
    return body


DAY = 24 * 3600


def test_a_message_older_than_the_redelivery_window_is_acknowledged_and_never_processed(
        app: Flask, tenant: int, post_webhook: PostWebhook, caplog: pytest.LogCaptureFixture) -> None:
    """WhatsApp redelivers for up to 7 days; an older signed body is a replay: answered 200 (so it is not sent
    again), counted, and neither stored nor enqueued. So is one without a timestamp, which Meta always sends."""
    with caplog.at_level(logging.INFO, logger="workers.queue"):
        replayed = post_webhook(sent_at(voice_body(TENANT_PHONE, "wamid.replayed", "media-1"), 9 * DAY))
        untimed = post_webhook(sent_at(voice_body(TENANT_PHONE, "wamid.untimed", "media-2"), None))
    for response in (replayed, untimed):
        assert response.status_code == 200
        assert response.get_json() == {"messages": 1, "new": 0, "enqueued": 0, "statuses": 0, "stale": 1}
    assert count(app, InboundMessage) == 0 and get_services(app).queue.count == 0
    assert any("1 too old" in r.getMessage() for r in caplog.records if r.name == "workers.queue")
    late = post_webhook(sent_at(voice_body(TENANT_PHONE, "wamid.late-retry", "media-3"), 7 * DAY - 60))
    assert (late.get_json()["new"], late.get_json()["stale"]) == (1, 0)  # Meta's last retry is still taken
    assert count(app, InboundMessage) == 1


def test_a_replayed_message_of_a_stranger_claims_no_notice(
        app: Flask, post_webhook: PostWebhook, whatsapp_fake: FakeWhatsApp) -> None:
    response = post_webhook(sent_at(voice_body("+4915199999999", "wamid.old-stranger", "media-x"), 30 * DAY))
    assert response.get_json()["stale"] == 1
    assert count(app, SenderNotice) == 0 and get_services(app).queue.count == 0
