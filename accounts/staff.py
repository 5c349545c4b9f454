"""Support staff accounts: argon2id passwords plus TOTP, creation, and login with throttling and replay protection
(server-side sessions in accounts.staff_sessions, what the CLI does to accounts in accounts.staff_admin)."""
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
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from accounts import AccountError
from accounts.staff_throttle import LoginKeys, count_failure, forgive_pair, login_keys, throttled_until
from store.audit import CLI_ACTOR, record_audit
from store.crypto import ContentCipher
from store.db import execute_count
from store.models import StaffUser, utcnow

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
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
class Enrolment:
    """What a new staff user needs once to set up the authenticator app."""

    staff_id: int
    uri: str


def normalise_email(email: str) -> str:
    return email.strip().lower()


def totp_field(staff_id: int) -> str:
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
    staff.totp_sealed = cipher.seal_field(secret, totp_field(staff.id))
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
    step = _matching_step(cipher.open_field(staff.totp_sealed, totp_field(staff.id)), code, now)
    if not (password_ok and step is not None and _claim_step(session, staff.id, step)):
        logger.info("staff %s: login failed", staff.id)
        return _refuse(session, keys, staff, now)
    forgive_pair(session, keys)
    if HASHER.check_needs_rehash(staff.password_hash):
        staff.password_hash = HASHER.hash(password)
    record_audit(session, staff.email, "staff_login", None)
    return LoginResult(LoginOutcome.OK, staff.id, staff.email)
