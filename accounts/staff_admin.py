"""What the CLI does to support staff accounts: list, disable, enable, reset password or TOTP; audited."""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.staff import (
    HASHER,
    MIN_PASSWORD_LENGTH,
    TOTP_ISSUER,
    Enrolment,
    UnknownStaff,
    WeakPassword,
    normalise_email,
    totp_field,
)
from accounts.staff_sessions import end_all_sessions
from accounts.staff_throttle import ADDRESS_LIMIT, LoginKeys, address_key, forgive_address, held_until
from store.audit import CLI_ACTOR, record_audit
from store.crypto import ContentCipher
from store.models import StaffUser, utcnow

logger = logging.getLogger(__name__)

GENERATED_PASSWORD_BYTES = 18  # 24 characters of urlsafe base64


@dataclass(frozen=True)
class StaffRow:
    """One line of `flask support-user list`: no secrets."""

    email: str
    name: str
    active: bool
    throttled_until: dt.datetime | None
    created_at: dt.datetime


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
    ended = 0 if active else end_all_sessions(session, staff.id)
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
    end_all_sessions(session, staff.id)
    forgive_address(session, address_key(cipher, staff.email))
    record_audit(session, actor, "staff_password_reset", None, staff_id=staff.id)
    return staff.email


def reset_totp(session: Session, cipher: ContentCipher, email: str, actor: str = CLI_ACTOR) -> Enrolment:
    """A new TOTP secret (the old authenticator's codes stop working); every session of the account ends. The
    returned URI is the only time the secret is shown."""
    staff = _staff_by_email(session, email)
    secret = pyotp.random_base32()
    staff.totp_sealed, staff.last_totp_step = cipher.seal_field(secret, totp_field(staff.id)), None
    end_all_sessions(session, staff.id)
    forgive_address(session, address_key(cipher, staff.email))
    record_audit(session, actor, "staff_totp_reset", None, staff_id=staff.id)
    uri = pyotp.TOTP(secret).provisioning_uri(name=staff.email, issuer_name=TOTP_ISSUER)
    return Enrolment(staff.id, uri)


def has_staff(session: Session) -> bool:
    """Whether any support staff account exists (`flask serve` says how to create the first one)."""
    return session.scalar(select(StaffUser.id).limit(1)) is not None
