"""The support login throttle: failed logins counted per address, per client address (source) and per pair.

Nothing here depends on whether a staff account with the address exists, so the answers are alike for known
and unknown addresses, and no count is kept on the account itself, so nobody can lock a staff member out:

- pair: one address from one source, 5 failures in 15 minutes. Guessing from one machine stops there, and
  only that machine is slowed: the staff member logs in from anywhere else.
- source: any addresses from one source, 20 failures in 15 minutes (trying many addresses).
- address: one address from all sources, 10 failures in 5 minutes. A short window: it bounds distributed
  guessing to two tries a minute, and an attacker who keeps hitting it delays the real user's login by at most
  five minutes after they stop; nothing outlasts the attack.

A limit counts over a sliding window and lifts when enough of its failures are older than the window. While a
limit holds, logins are not tried (and so not counted) at all, even with the right password and code; a
successful login forgives the failures of its pair. Addresses and sources are stored as keyed pseudonyms only.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from store.crypto import ContentCipher
from store.models import StaffLoginFailure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    name: str
    failures: int
    window: dt.timedelta


PAIR_LIMIT = Limit("pair", 5, dt.timedelta(minutes=15))
SOURCE_LIMIT = Limit("source", 20, dt.timedelta(minutes=15))
ADDRESS_LIMIT = Limit("address", 10, dt.timedelta(minutes=5))
LIMITS = (PAIR_LIMIT, SOURCE_LIMIT, ADDRESS_LIMIT)
LONGEST_WINDOW = max(limit.window for limit in LIMITS)


@dataclass(frozen=True)
class LoginKeys:
    """The pseudonyms one login attempt is counted under."""

    address: str
    source: str


def address_key(cipher: ContentCipher, email: str) -> str:
    return cipher.pseudonym(f"staff-login/address/{email}")


def login_keys(cipher: ContentCipher, email: str, source: str) -> LoginKeys:
    return LoginKeys(address_key(cipher, email), cipher.pseudonym(f"staff-login/source/{source}"))


def _scope(limit: Limit, keys: LoginKeys) -> ColumnElement[bool]:
    if limit is PAIR_LIMIT:
        return (StaffLoginFailure.address_key == keys.address) & (StaffLoginFailure.source_key == keys.source)
    if limit is SOURCE_LIMIT:
        return StaffLoginFailure.source_key == keys.source
    return StaffLoginFailure.address_key == keys.address


def held_until(session: Session, limit: Limit, keys: LoginKeys, now: dt.datetime) -> dt.datetime | None:
    """Until when `limit` holds for `keys`, None when it does not: it lifts when the newest `limit.failures`
    failures are no longer all within the window, i.e. when the oldest of them leaves it."""
    oldest_of_newest = session.scalar(
        select(StaffLoginFailure.at).where(_scope(limit, keys), StaffLoginFailure.at > now - limit.window)
        .order_by(StaffLoginFailure.at.desc()).offset(limit.failures - 1).limit(1))
    return None if oldest_of_newest is None else oldest_of_newest + limit.window


def throttled_until(session: Session, keys: LoginKeys, now: dt.datetime) -> dt.datetime | None:
    """Until when a login with these keys is refused untried; None: it may be tried."""
    until = [t for t in (held_until(session, limit, keys, now) for limit in LIMITS) if t is not None]
    return max(until) if until else None


def count_failure(session: Session, keys: LoginKeys, now: dt.datetime) -> tuple[dt.datetime | None, list[str]]:
    """Record a failed login; until when the keys are throttled now, and the names of the limits it reached."""
    session.execute(delete(StaffLoginFailure).where(StaffLoginFailure.at <= now - LONGEST_WINDOW))
    session.add(StaffLoginFailure(at=now, address_key=keys.address, source_key=keys.source))
    session.flush()
    reached = [limit.name for limit in LIMITS if held_until(session, limit, keys, now) is not None]
    if reached:
        logger.warning("support login throttled (%s): address %s…, source %s…", ", ".join(reached),
                       keys.address[:8], keys.source[:8])
    return throttled_until(session, keys, now), reached


def forgive_pair(session: Session, keys: LoginKeys) -> None:
    """After a successful login: the failures of this address from this source no longer count."""
    session.execute(delete(StaffLoginFailure).where(_scope(PAIR_LIMIT, keys)))


def forgive_address(session: Session, address_key: str) -> None:
    """After a password or TOTP reset: no failure for the address counts any more, from any source."""
    session.execute(delete(StaffLoginFailure).where(StaffLoginFailure.address_key == address_key))
