"""Verification by one-time code in the chat, its limits, the welcome, and notices to unknown senders."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from accounts.onboarding import send_code
from accounts.otp import ChallengeLocked, SendLimitReached
from services import get_services
from store.models import AuditEntry, InboundMessage, OtpChallenge, SenderNotice, Tenant, utcnow
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import TENANT_PHONE, PostWebhook, SendText, SendVoiceNote, load_cases, voice_body

DIGITS = TENANT_PHONE.lstrip("+")


def last_code(whatsapp_fake: FakeWhatsApp, to: str = DIGITS) -> str:
    """The code of the newest authentication template sent to `to` (body and button carry the same)."""
    template = [m for m in whatsapp_fake.sent if m["type"] == "template" and m["to"] == to][-1]["template"]
    body, button = template["components"]
    assert button["sub_type"] == "url" and button["parameters"] == body["parameters"]
    return str(body["parameters"][0]["text"])


def is_verified(app: Flask, tenant_id: int) -> bool:
    with get_services(app).db.session() as session:
        return session.get_one(Tenant, tenant_id).verified


def test_code_typed_into_the_chat_verifies_and_welcomes(
        app: Flask, unverified: int, send_text: SendText, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    send_code(get_services(app), unverified, actor="cli")
    code = last_code(whatsapp_fake)
    assert len(code) == 6 and code.isdigit()
    template = whatsapp_fake.sent[-1]["template"]
    assert template["name"] == "verification_code" and template["language"] == {"code": "de"}
    send_text(f"{code[:3]} {code[3:]}")
    run_worker()
    assert is_verified(app, unverified)
    [welcome] = whatsapp_fake.texts_to(DIGITS)
    assert "automatisiertes KI-System" in welcome and "/datenschutz" in welcome and "30 Tagen" in welcome
    with get_services(app).db.session() as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == ["tenant_created", "code_sent", "code_entered"]
        assert session.scalar(select(func.count()).select_from(InboundMessage)
                              .where(InboundMessage.body_sealed.is_not(None))) == 0  # text forgotten


def test_expired_code_is_refused(app: Flask, unverified: int, send_text: SendText,
                                 run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    send_code(get_services(app), unverified, actor="cli")
    with get_services(app).db.session() as session:  # eleven minutes pass
        session.execute(update(OtpChallenge).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    send_text(last_code(whatsapp_fake))
    run_worker()
    assert not is_verified(app, unverified)
    assert "abgelaufen" in whatsapp_fake.texts_to(DIGITS)[-1]


def test_five_wrong_codes_lock_and_a_resend_does_not_reset_failures(
        app: Flask, unverified: int, send_text: SendText, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    services = get_services(app)
    send_code(services, unverified, actor="cli")
    first = last_code(whatsapp_fake)
    wrong = "000000" if first != "000000" else "111111"
    for _ in range(2):
        send_text(wrong)
        run_worker()
    send_code(services, unverified, actor="cli")  # resend: a new code, the two failures stay
    code = last_code(whatsapp_fake)
    for _ in range(3):
        send_text(wrong if wrong != code else "222222")
        run_worker()
    replies = whatsapp_fake.texts_to(DIGITS)
    assert [r for r in replies if "noch" in r] == [f"Der Code stimmt nicht. Du hast noch {n} Versuche." for n in
                                                    (4, 3, 2, 1)]
    assert "Zu viele falsche Codes" in replies[-1]
    send_text(code)  # even the right code no longer works
    run_worker()
    assert not is_verified(app, unverified)
    assert "Zu viele falsche Codes" in whatsapp_fake.texts_to(DIGITS)[-1]
    with pytest.raises(ChallengeLocked):
        send_code(services, unverified, actor="cli")


def test_at_most_three_codes_per_number_and_hour(app: Flask, unverified: int, whatsapp_fake: FakeWhatsApp) -> None:
    services = get_services(app)
    for _ in range(3):
        send_code(services, unverified, actor="cli")
    with pytest.raises(SendLimitReached):
        send_code(services, unverified, actor="cli")
    assert len([m for m in whatsapp_fake.sent if m["type"] == "template"]) == 3


def test_unknown_sender_gets_one_notice_per_day_and_nothing_is_downloaded_or_stored(
        app: Flask, tenant: int, post_webhook: PostWebhook, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    stranger = "+4915199999999"
    for i in range(3):
        assert post_webhook(voice_body(stranger, f"wamid.stranger-{i}", "media-x")).status_code == 200
    run_worker()
    notices = whatsapp_fake.texts_to(stranger.lstrip("+"))
    assert len(notices) == 1 and "noch nicht" in notices[0]
    assert whatsapp_fake.media_downloads == []
    services = get_services(app)
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0
        [notice] = session.scalars(select(SenderNotice)).all()
        assert notice.phone_sealed is None and stranger.lstrip("+") not in notice.phone_hmac
        session.execute(update(SenderNotice).values(last_sent_at=utcnow() - dt.timedelta(hours=25)))
    post_webhook(voice_body(stranger, "wamid.stranger-next-day", "media-x"))
    run_worker()
    assert len(whatsapp_fake.texts_to(stranger.lstrip("+"))) == 2


def test_unverified_tenant_voice_note_is_not_downloaded(
        app: Flask, unverified: int, send_voice_note: SendVoiceNote, run_worker: Callable[[], None],
        whatsapp_fake: FakeWhatsApp) -> None:
    send_voice_note(load_cases()[0])
    run_worker()
    assert whatsapp_fake.media_downloads == []
    assert len(whatsapp_fake.texts_to(DIGITS)) == 1


def test_disabled_number_is_not_processed(app: Flask, tenant: int, send_voice_note: SendVoiceNote,
                                          run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    with get_services(app).db.session() as session:
        session.execute(update(Tenant).values(active=False))
    send_voice_note(load_cases()[0])
    run_worker()
    assert whatsapp_fake.media_downloads == []
