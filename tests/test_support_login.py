"""Support login and sessions: server-side sessions (logout, idle and absolute lifetime) and login throttling
that neither reveals which staff addresses exist nor lets anyone lock staff out."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from accounts.staff_sessions import find_staff_session, open_staff_session
from app import create_app
from services import get_services
from store.models import AuditEntry, StaffLoginFailure, StaffSession, StaffUser, utcnow
from tests.helpers import Staff, logged_in, read_csrf, submit, text_of
from workers.retention import drop_stale_metadata

ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.7"


def log_in_from(client: FlaskClient, source: str, email: str, password: str, code: str) -> TestResponse:
    """The login form posted from the client address `source`."""
    page = client.get("/support/login", environ_base={"REMOTE_ADDR": source})
    return client.post("/support/login", environ_base={"REMOTE_ADDR": source}, data={
        "csrf_token": read_csrf(page), "email": email, "password": password, "code": code})


def alert_of(response: TestResponse) -> str:
    """The login page's error message, with the times in it blanked (the same for every address)."""
    match = re.search(r'role="alert">(.*?)</div>', text_of(response), re.S)
    assert match, text_of(response)
    return re.sub(r"\d{2}:\d{2}", "HH:MM", " ".join(match.group(1).split()))


def age_session(app: Flask, **delta: dt.timedelta) -> None:
    """Move the session records' times into the past (time passes)."""
    with get_services(app).db.session() as session:
        for record in session.scalars(select(StaffSession)):
            for column, by in delta.items():
                setattr(record, column, getattr(record, column) - by)


# --- server-side sessions -----------------------------------------------------------------------

def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_is_worthless(
        app: Flask, console: FlaskClient) -> None:
    cookie = console.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert logged_in(thief)  # a copied cookie works while the session lasts ...
    submit(console, "/support/logout", "/support/tenants")
    assert not logged_in(console)
    response = thief.get("/support/tenants")  # ... and not after the logout
    assert response.status_code == 302 and response.location.endswith("/support/login")
    with get_services(app).db.session() as session:
        assert session.scalars(select(StaffSession)).all() == []


def test_a_session_ends_after_its_absolute_lifetime_even_when_in_use(app: Flask, console: FlaskClient) -> None:
    age_session(app, created_at=dt.timedelta(hours=11, minutes=50))
    assert logged_in(console)  # still within SUPPORT_SESSION_HOURS (12) and just used
    age_session(app, created_at=dt.timedelta(minutes=11))
    response = console.get("/support/tenants", follow_redirects=True)
    assert response.request.path == "/support/login" and "Sitzung ist abgelaufen" in text_of(response)
    assert not logged_in(console)


def test_find_staff_session_checks_idle_time_and_absolute_lifetime(app: Flask, staff: Staff) -> None:
    start = utcnow()
    idle, lifetime = dt.timedelta(minutes=15), dt.timedelta(hours=12)
    with get_services(app).db.session() as session:
        staff_id = session.scalars(select(StaffUser.id)).one()
        token = open_staff_session(session, staff_id, now=start)
    moment = start
    while moment < start + lifetime - dt.timedelta(minutes=10):  # used every 10 minutes: alive
        moment += dt.timedelta(minutes=10)
        with get_services(app).db.session() as session:
            found = find_staff_session(session, token, idle, lifetime, now=moment)
            assert found is not None and found.staff_id == staff_id, moment - start
    with get_services(app).db.session() as session:  # used a minute ago, but older than the lifetime
        assert find_staff_session(session, token, idle, lifetime, now=start + lifetime) is None
        assert session.scalars(select(StaffSession)).all() == []  # and gone
    with get_services(app).db.session() as session:
        token = open_staff_session(session, staff_id, now=start)
    with get_services(app).db.session() as session:
        assert find_staff_session(session, token, idle, lifetime, now=start + dt.timedelta(minutes=16)) is None
        assert find_staff_session(session, "forged", idle, lifetime, now=start) is None


def test_idle_session_expires_after_15_minutes(app: Flask, console: FlaskClient) -> None:
    age_session(app, last_seen_at=dt.timedelta(minutes=14))
    assert logged_in(console)
    age_session(app, last_seen_at=dt.timedelta(minutes=16))
    response = console.get("/support/tenants", follow_redirects=True)
    assert response.request.path == "/support/login" and "Sitzung ist abgelaufen" in text_of(response)
    assert not logged_in(console)


# --- login throttling ---------------------------------------------------------------------------

def test_failed_logins_for_unknown_and_known_addresses_look_alike(client: FlaskClient, staff: Staff) -> None:
    answers = {}
    for n, email in enumerate((staff.email, "niemand@support.example")):
        source = f"192.0.2.{n + 10}"
        answers[email] = [(r.status_code, alert_of(r))
                          for r in (log_in_from(client, source, email, f"falsch-falsch-{i}", staff.code())
                                    for i in range(7))]
    assert answers[staff.email] == answers["niemand@support.example"]
    assert answers[staff.email][0] == (401, "E-Mail, Passwort oder Code ist falsch. Bitte versuchen Sie es erneut.")
    assert answers[staff.email][-1][0] == 429 and "Zu viele Fehlversuche" in answers[staff.email][-1][1]
    assert "Konto" not in answers[staff.email][-1][1]


def test_a_throttled_source_does_not_lock_the_staff_member_out(app: Flask, client: FlaskClient,
                                                                staff: Staff) -> None:
    for attempt in range(5):
        response = log_in_from(client, ATTACKER, staff.email, f"falsch-falsch-{attempt}", staff.code())
    assert response.status_code == 429 and "Zu viele Fehlversuche" in text_of(response)
    response = log_in_from(client, ATTACKER, staff.email, staff.password, staff.code())  # right, but throttled
    assert response.status_code == 429 and not logged_in(client)
    assert "Retry-After" in response.headers
    office = app.test_client()
    response = log_in_from(office, OFFICE, staff.email, staff.password, staff.code(steps_ahead=1))
    assert response.status_code == 302 and logged_in(office)
    with get_services(app).db.session() as session:
        assert session.scalars(select(StaffUser.active)).one()
        throttled = session.scalars(select(AuditEntry).where(AuditEntry.action == "staff_login_throttled")).one()
    assert throttled.actor == staff.email and throttled.detail == {"limit": "pair"}


def test_a_source_trying_many_addresses_is_throttled_for_all_of_them(app: Flask, client: FlaskClient,
                                                                     staff: Staff) -> None:
    for n in range(20):  # the 20th failure reaches the limit of the source
        response = log_in_from(client, ATTACKER, f"rate-{n}@support.example", "falsch-falsch-falsch", "123456")
        assert response.status_code == (429 if n == 19 else 401), n
    response = log_in_from(client, ATTACKER, staff.email, staff.password, staff.code())
    assert response.status_code == 429 and not logged_in(client)
    office = app.test_client()
    assert log_in_from(office, OFFICE, staff.email, staff.password, staff.code()).status_code == 302


def test_many_sources_slow_an_address_down_for_a_short_window_only(app: Flask, client: FlaskClient,
                                                                   staff: Staff) -> None:
    for n in range(10):  # a botnet: two guesses from each of five addresses; the 10th reaches the address limit
        response = log_in_from(client, f"203.0.113.{n // 2}", staff.email, f"falsch-falsch-{n}", "123456")
        assert response.status_code == (429 if n == 9 else 401), n
    office = app.test_client()
    response = log_in_from(office, OFFICE, staff.email, staff.password, staff.code())
    assert response.status_code == 429 and "Zu viele Fehlversuche" in text_of(response)  # slowed down ...
    with get_services(app).db.session() as session:  # ... for five minutes
        for failure in session.scalars(select(StaffLoginFailure)):
            failure.at -= dt.timedelta(minutes=5)
    response = log_in_from(office, OFFICE, staff.email, staff.password, staff.code())
    assert response.status_code == 302 and logged_in(office)
    unknown = log_in_from(app.test_client(), OFFICE, "niemand@support.example", "x" * 12, "123456")
    assert unknown.status_code == 401


def test_a_successful_login_forgives_the_failures_of_its_source(client: FlaskClient, staff: Staff) -> None:
    for attempt in range(4):
        assert log_in_from(client, OFFICE, staff.email, f"falsch-falsch-{attempt}", staff.code()).status_code == 401
    assert log_in_from(client, OFFICE, staff.email, staff.password, staff.code()).status_code == 302
    submit(client, "/support/logout", "/support/tenants")
    for attempt in range(4):
        assert log_in_from(client, OFFICE, staff.email, f"falsch-{attempt}-falsch", staff.code()).status_code == 401
    assert log_in_from(client, OFFICE, staff.email, staff.password, staff.code(steps_ahead=1)).status_code == 302


def test_the_sweep_drops_idle_sessions_and_old_login_failures(app: Flask, client: FlaskClient, staff: Staff) -> None:
    assert log_in_from(client, OFFICE, staff.email, "falsch-falsch-falsch", staff.code()).status_code == 401
    assert log_in_from(client, OFFICE, staff.email, staff.password, staff.code()).status_code == 302
    with get_services(app).db.session() as session:
        drop_stale_metadata(session, utcnow() + dt.timedelta(minutes=14), 30)
        assert len(session.scalars(select(StaffSession)).all()) == 1
        assert len(session.scalars(select(StaffLoginFailure)).all()) == 0  # forgiven by the login
    log_in_from(app.test_client(), ATTACKER, staff.email, "falsch-falsch-falsch", staff.code())
    with get_services(app).db.session() as session:
        drop_stale_metadata(session, utcnow() + dt.timedelta(minutes=16), 30)
        assert session.scalars(select(StaffSession)).all() == []
        assert session.scalars(select(StaffLoginFailure)).all() == []
    assert not logged_in(client)


def test_behind_a_proxy_the_throttle_counts_the_forwarded_client_address(
        app_env: dict[str, str], tmp_path: Path, staff: Staff) -> None:
    config: dict[str, Any] = {k.lower(): v for k, v in app_env.items()}
    config["job_retry_intervals"] = json.loads(config["job_retry_intervals"])
    proxied = create_app({**config, "proxy_hops": 1, "instance_path": str(tmp_path / "instance")})
    try:
        client = proxied.test_client()

        def via_router(forwarded_for: str, password: str, code: str) -> TestResponse:
            env = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": forwarded_for}  # the PaaS router
            token = read_csrf(client.get("/support/login", environ_base=env))
            return client.post("/support/login", environ_base=env, data={
                "csrf_token": token, "email": staff.email, "password": password, "code": code})

        for attempt in range(5):
            response = via_router(f"1.2.3.{attempt}, {ATTACKER}", f"falsch-falsch-{attempt}", staff.code())
        assert response.status_code == 429  # a forged first hop does not escape: the router's entry counts
        assert via_router(OFFICE, staff.password, staff.code()).status_code == 302
    finally:
        get_services(proxied).close()
