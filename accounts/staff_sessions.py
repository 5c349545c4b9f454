"""Server-side sessions of support staff: a token in the cookie, its hash in the database; idle and absolute
lifetimes; logout and disabling end them for good."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from accounts.staff_throttle import LONGEST_WINDOW
from store.crypto import hash_token
from store.db import execute_count
from store.models import StaffLoginFailure, StaffSession, StaffUser, utcnow

IDLE_TIMEOUT = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class ActiveStaff:
    """Who a live session belongs to."""

    staff_id: int
    email: str


def open_staff_session(session: Session, staff_id: int, now: dt.datetime | None = None) -> str:
    """A new session record for a logged-in staff member; the returned token goes into the cookie only."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=hash_token(token), staff_id=staff_id, created_at=now, last_seen_at=now))
    return token


def find_staff_session(session: Session, token: str, idle: dt.timedelta, max_age: dt.timedelta,
                       now: dt.datetime | None = None) -> ActiveStaff | None:
    """The staff member of a live session, which is used now: the record exists, was used within `idle`, is
    younger than `max_age` (however busy), and its staff account is active. A dead record is deleted."""
    now = now or utcnow()
    record = session.scalar(select(StaffSession).where(StaffSession.token_hash == hash_token(token)))
    if record is None:
        return None
    staff = session.get(StaffUser, record.staff_id)
    if staff is None or not staff.active or record.last_seen_at + idle <= now or record.created_at + max_age <= now:
        session.delete(record)
        return None
    record.last_seen_at = now
    return ActiveStaff(staff.id, staff.email)


def end_staff_session(session: Session, token: str) -> None:
    """Logout: drop the session record, so a copied session cookie is worthless too."""
    session.execute(delete(StaffSession).where(StaffSession.token_hash == hash_token(token)))


def end_all_sessions(session: Session, staff_id: int) -> int:
    """End every session of a staff member (disabled, new password or TOTP); how many there were."""
    return execute_count(session, delete(StaffSession).where(StaffSession.staff_id == staff_id))


def drop_stale_staff_records(session: Session, now: dt.datetime | None = None) -> None:
    """For the sweep: session records idle past the timeout (nobody can use them any more; one in use past its
    absolute lifetime goes at its next request) and login failures older than the throttle's longest window."""
    now = now or utcnow()
    session.execute(delete(StaffSession).where(StaffSession.last_seen_at <= now - IDLE_TIMEOUT))
    session.execute(delete(StaffLoginFailure).where(StaffLoginFailure.at <= now - LONGEST_WINDOW))
