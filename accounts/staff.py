"""Support staff accounts: argon2id passwords plus TOTP, login with throttling and replay protection, server-side
sessions, and what the CLI does to accounts (list, disable, enable, reset password or TOTP)."""
from __future__ import annotations

import datetime as dt
import enum
import hmac
import logging
import secrets
from dataclasses import dataclass
from functools import cache

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from accounts import AccountError
from accounts.staff_throttle import (
    ADDRESS_LIMIT,
    LONGEST_WINDOW,
    LoginKeys,
    address_key,
    count_failure,
    forgive_address,
    forgive_pair,
    held_until,
    login_keys,
    throttled_until,
)
from store.audit import CLI_ACTOR, record_audit
from store.crypto import ContentCipher, hash_token
from store.db import execute_count
from store.models import StaffLoginFailure, StaffSession, StaffUser, utcnow

logger = logging.getLogger(__name__)

IDLE_TIMEOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
GENERATED_PASSWORD_BYTES = 18  # 24 characters of urlsafe base64
TOTP_ISSUER = "Sprachrechnung Support"
HASHER = PasswordHasher()  # argon2id with the RFC 9106 low-memory parameters


class StaffExists(AccountError):
    def __init__(self) -> None:
        super().__init__("a staff user with this e-mail address exists already")


class WeakPassword(AccountError):
    def __init__(self) -> None:
        super().__init__(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


class UnknownStaff(AccountError):
    def __init__(self) -> None:
        super().__init__("no support user with this e-mail address")


class LoginOutcome(str, enum.Enum):
    OK = "ok"
    INVALID = "invalid"
    THROTTLED = "throttled"  # too many failures for the address, from the source, or both: not tried


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    staff_id: int | None = None
    email: str = ""
    retry_at: dt.datetime | None = None  # THROTTLED: when a login may be tried again


@dataclass(frozen=True)
class ActiveStaff:
    """Who a live session belongs to."""

    staff_id: int
    email: str


@dataclass(frozen=True)
class StaffRow:
    """One line of `flask support-user list`: no secrets."""

    email: str
    name: str
    active: bool
    throttled_until: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Enrolment:
    """What a new staff user needs once to set up the authenticator app."""

    staff_id: int
    uri: str


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _totp_field(staff_id: int) -> str:
    return f"staff/{staff_id}"


def create_staff(session: Session, cipher: ContentCipher, email: str, name: str, password: str,
                 actor: str = CLI_ACTOR) -> Enrolment:
    """Add a staff user with a fresh TOTP secret; the returned URI is the only time the secret is shown."""
    email = normalise_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword()
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise StaffExists()
    secret = pyotp.random_base32()
    staff = StaffUser(email=email, name=name.strip(), password_hash=HASHER.hash(password), totp_sealed=b"")
    session.add(staff)
    session.flush()
    staff.totp_sealed = cipher.seal_field(secret, _totp_field(staff.id))
    record_audit(session, actor, "staff_created", None, staff_id=staff.id)
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)
    return Enrolment(staff.id, uri)


@cache
def _dummy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(16))


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step whose code equals `code` (one step of clock drift either way)."""
    totp = pyotp.TOTP(secret)
    code = "".join(code.split())
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(session: Session, staff_id: int, step: int) -> bool:
    """Record `step` as used, atomically; False when it (or a later one) was used before."""
    claimed = update(StaffUser).where(
        StaffUser.id == staff_id, or_(StaffUser.last_totp_step.is_(None), StaffUser.last_totp_step < step)
    ).values(last_totp_step=step).execution_options(synchronize_session=False)
    return execute_count(session, claimed) == 1


def _refuse(session: Session, keys: LoginKeys, staff: StaffUser | None, now: dt.datetime) -> LoginResult:
    """A failed login: counted alike for known and unknown addresses, answered alike too."""
    retry_at, reached = count_failure(session, keys, now)
    if retry_at is None:
        return LoginResult(LoginOutcome.INVALID)
    if staff is not None and reached:  # the widest limit reached: pair, source or address
        record_audit(session, staff.email, "staff_login_throttled", None, limit=reached[-1])
    return LoginResult(LoginOutcome.THROTTLED, retry_at=retry_at)


def authenticate(session: Session, cipher: ContentCipher, email: str, password: str, code: str, source: str,
                 now: dt.datetime | None = None) -> LoginResult:
    """Password and TOTP together, or nothing. `source` is the client address; failures count towards the
    throttle of accounts.staff_throttle, which never depends on whether the address belongs to anyone."""
    now = now or utcnow()
    email = normalise_email(email)
    keys = login_keys(cipher, email, source)
    retry_at = throttled_until(session, keys, now)
    if retry_at is not None:
        return LoginResult(LoginOutcome.THROTTLED, retry_at=retry_at)
    staff = session.scalar(select(StaffUser).where(StaffUser.email == email))
    if staff is None or not staff.active:
        _password_matches(_dummy_hash(), password)  # the same work as for a known address
        return _refuse(session, keys, staff, now)
    password_ok = _password_matches(staff.password_hash, password)
    step = _matching_step(cipher.open_field(staff.totp_sealed, _totp_field(staff.id)), code, now)
    if not (password_ok and step is not None and _claim_step(session, staff.id, step)):
        logger.info("staff %s: login failed", staff.id)
        return _refuse(session, keys, staff, now)
    forgive_pair(session, keys)
    if HASHER.check_needs_rehash(staff.password_hash):
        staff.password_hash = HASHER.hash(password)
    record_audit(session, staff.email, "staff_login", None)
    return LoginResult(LoginOutcome.OK, staff.id, staff.email)


# --- server-side sessions -----------------------------------------------------------------------

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


def _end_all_sessions(session: Session, staff_id: int) -> int:
    return execute_count(session, delete(StaffSession).where(StaffSession.staff_id == staff_id))


def drop_stale_staff_records(session: Session, now: dt.datetime | None = None) -> None:
    """For the sweep: session records idle past the timeout (nobody can use them any more; one in use past its
    absolute lifetime goes at its next request) and login failures older than the throttle's longest window."""
    now = now or utcnow()
    session.execute(delete(StaffSession).where(StaffSession.last_seen_at <= now - IDLE_TIMEOUT))
    session.execute(delete(StaffLoginFailure).where(StaffLoginFailure.at <= now - LONGEST_WINDOW))


# --- administration (CLI) -----------------------------------------------------------------------

def _staff_by_email(session: Session, email: str) -> StaffUser:
    staff = session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    if staff is None:
        raise UnknownStaff()
    return staff


def list_staff(session: Session, cipher: ContentCipher, now: dt.datetime | None = None) -> list[StaffRow]:
    """Every staff account, with whether its address is throttled right now (by failures from anywhere)."""
    now = now or utcnow()
    rows = []
    for staff in session.scalars(select(StaffUser).order_by(StaffUser.email)):
        until = held_until(session, ADDRESS_LIMIT, LoginKeys(address_key(cipher, staff.email), ""), now)
        rows.append(StaffRow(staff.email, staff.name, staff.active, until, staff.created_at))
    return rows


def set_staff_active(session: Session, email: str, active: bool, actor: str = CLI_ACTOR) -> tuple[str, bool]:
    """Disable (ending every session) or enable an account; its address, and whether anything changed."""
    staff = _staff_by_email(session, email)
    if staff.active == active:
        return staff.email, False
    staff.active = active
    ended = 0 if active else _end_all_sessions(session, staff.id)
    record_audit(session, actor, "staff_enabled" if active else "staff_disabled", None, staff_id=staff.id)
    logger.info("staff %s: %s (%d sessions ended)", staff.id, "enabled" if active else "disabled", ended)
    return staff.email, True


def generate_password() -> str:
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


def reset_password(session: Session, cipher: ContentCipher, email: str, password: str,
                   actor: str = CLI_ACTOR) -> str:
    """A new password; every session of the account ends and its address is no longer throttled."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword()
    staff = _staff_by_email(session, email)
    staff.password_hash = HASHER.hash(password)
    _end_all_sessions(session, staff.id)
    forgive_address(session, address_key(cipher, staff.email))
    record_audit(session, actor, "staff_password_reset", None, staff_id=staff.id)
    return staff.email


def reset_totp(session: Session, cipher: ContentCipher, email: str, actor: str = CLI_ACTOR) -> Enrolment:
    """A new TOTP secret (the old authenticator's codes stop working); every session of the account ends. The
    returned URI is the only time the secret is shown."""
    staff = _staff_by_email(session, email)
    secret = pyotp.random_base32()
    staff.totp_sealed, staff.last_totp_step = cipher.seal_field(secret, _totp_field(staff.id)), None
    _end_all_sessions(session, staff.id)
    forgive_address(session, address_key(cipher, staff.email))
    record_audit(session, actor, "staff_totp_reset", None, staff_id=staff.id)
    uri = pyotp.TOTP(secret).provisioning_uri(name=staff.email, issuer_name=TOTP_ISSUER)
    return Enrolment(staff.id, uri)


def has_staff(session: Session) -> bool:
    """Whether any support staff account exists (`flask serve` says how to create the first one)."""
    return session.scalar(select(StaffUser.id).limit(1)) is not None
