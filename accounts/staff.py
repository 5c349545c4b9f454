"""Support staff accounts: argon2id passwords plus TOTP, login with throttling and replay protection."""
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
from store.audit import CLI_ACTOR, record_audit
from store.crypto import ContentCipher
from store.db import execute_count
from store.models import StaffUser, utcnow

logger = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
LOCK_DURATION = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
TOTP_ISSUER = "Sprachrechnung Support"
HASHER = PasswordHasher()  # argon2id with the RFC 9106 low-memory parameters


class StaffExists(AccountError):
    def __init__(self) -> None:
        super().__init__("a staff user with this e-mail address exists already")


class WeakPassword(AccountError):
    def __init__(self) -> None:
        super().__init__(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


class LoginOutcome(str, enum.Enum):
    OK = "ok"
    INVALID = "invalid"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    staff_id: int | None = None
    email: str = ""
    locked_until: dt.datetime | None = None


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


def _count_failure(session: Session, staff: StaffUser, now: dt.datetime) -> LoginResult:
    session.execute(update(StaffUser).where(StaffUser.id == staff.id)
                    .values(failed_logins=StaffUser.failed_logins + 1).execution_options(synchronize_session=False))
    session.refresh(staff)
    logger.info("staff %s: login failed (%d in a row)", staff.id, staff.failed_logins)
    if staff.failed_logins < MAX_FAILED_LOGINS:
        return LoginResult(LoginOutcome.INVALID)
    staff.failed_logins, staff.locked_until = 0, now + LOCK_DURATION
    record_audit(session, staff.email, "staff_locked", None)
    logger.warning("staff %s: locked after %d failed logins", staff.id, MAX_FAILED_LOGINS)
    return LoginResult(LoginOutcome.LOCKED, locked_until=staff.locked_until)


def authenticate(session: Session, cipher: ContentCipher, email: str, password: str, code: str,
                 now: dt.datetime | None = None) -> LoginResult:
    """Password and TOTP together, or nothing; failures count towards a 15-minute lock."""
    now = now or utcnow()
    staff = session.scalar(select(StaffUser).where(StaffUser.email == normalise_email(email)))
    if staff is None or not staff.active:
        _password_matches(_dummy_hash(), password)  # the same work as for a known address
        return LoginResult(LoginOutcome.INVALID)
    if staff.locked_until is not None and staff.locked_until > now:
        return LoginResult(LoginOutcome.LOCKED, locked_until=staff.locked_until)
    password_ok = _password_matches(staff.password_hash, password)
    step = _matching_step(cipher.open_field(staff.totp_sealed, _totp_field(staff.id)), code, now)
    if not (password_ok and step is not None and _claim_step(session, staff.id, step)):
        return _count_failure(session, staff, now)
    staff.failed_logins, staff.locked_until = 0, None
    if HASHER.check_needs_rehash(staff.password_hash):
        staff.password_hash = HASHER.hash(password)
    record_audit(session, staff.email, "staff_login", None)
    return LoginResult(LoginOutcome.OK, staff.id, staff.email)


def find_active_staff(session: Session, staff_id: int) -> StaffUser | None:
    staff = session.get(StaffUser, staff_id)
    return staff if staff is not None and staff.active else None


def has_staff(session: Session) -> bool:
    """Whether any support staff account exists (`flask serve` says how to create the first one)."""
    return session.scalar(select(StaffUser.id).limit(1)) is not None
