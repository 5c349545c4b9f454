"""One-time codes for verifying WhatsApp numbers: hashed, 10 minutes, single use, 5 tries, 3 sends/hour."""
from __future__ import annotations

import datetime as dt
import enum
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts import AccountError
from accounts.tenants import PhoneTaken
from store.crypto import ContentCipher
from store.models import OtpChallenge, OtpSend, Tenant, utcnow
from store.phones import seal_phone

CODE_TTL = dt.timedelta(minutes=10)
MAX_FAILURES = 5
MAX_SENDS_PER_HOUR = 3


class SendLimitReached(AccountError):
    def __init__(self, retry_at: dt.datetime) -> None:
        super().__init__(f"at most {MAX_SENDS_PER_HOUR} codes per number and hour; next one possible at "
                         f"{retry_at:%H:%M} UTC")
        self.retry_at = retry_at


class ChallengeLocked(AccountError):
    def __init__(self) -> None:
        super().__init__(f"{MAX_FAILURES} wrong codes: this verification is locked; support must start a new one")


class VerifyOutcome(str, enum.Enum):
    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"
    NO_CHALLENGE = "no_challenge"
    NUMBER_TAKEN = "number_taken"


@dataclass(frozen=True)
class VerifyResult:
    outcome: VerifyOutcome
    remaining: int = 0
    number_changed: bool = False
    welcome_due: bool = False  # first verification or a new number: the bot greets it


def _code_hash(cipher: ContentCipher, challenge_id: int, code: str) -> str:
    return cipher.pseudonym(f"otp:{challenge_id}:{code}")


def open_challenge(session: Session, tenant_id: int) -> OtpChallenge | None:
    """The tenant's newest unconsumed challenge."""
    return session.scalar(select(OtpChallenge).where(OtpChallenge.tenant_id == tenant_id,
                                                     OtpChallenge.consumed_at.is_(None))
                          .order_by(OtpChallenge.id.desc()).limit(1))


def issue_code(session: Session, cipher: ContentCipher, tenant: Tenant, phone: str | None = None,
               now: dt.datetime | None = None) -> tuple[OtpChallenge, str]:
    """A new code for `phone` (default: the tenant's number); a resend keeps the failure count."""
    now = now or utcnow()
    if phone is None:
        pseudonym, sealed = tenant.phone_hmac, tenant.phone_sealed
    else:
        sealed, pseudonym = seal_phone(cipher, phone)
    if sealed is None:
        raise ChallengeLocked()
    hour_ago = now - dt.timedelta(hours=1)
    sends = list(session.scalars(select(OtpSend.sent_at).where(OtpSend.phone_hmac == pseudonym,
                                                               OtpSend.sent_at > hour_ago)
                                 .order_by(OtpSend.sent_at)))
    if len(sends) >= MAX_SENDS_PER_HOUR:
        raise SendLimitReached(sends[0] + dt.timedelta(hours=1))
    challenge = open_challenge(session, tenant.id)
    if challenge is not None and challenge.failures >= MAX_FAILURES and challenge.phone_hmac == pseudonym:
        raise ChallengeLocked()
    if challenge is None or challenge.phone_hmac != pseudonym or challenge.failures >= MAX_FAILURES:
        if challenge is not None:
            challenge.consumed_at = now  # superseded
        challenge = OtpChallenge(tenant_id=tenant.id, phone_sealed=sealed, phone_hmac=pseudonym, code_hash="",
                                 expires_at=now + CODE_TTL, created_at=now)
        session.add(challenge)
        session.flush()
    code = f"{secrets.randbelow(10**6):06d}"
    challenge.code_hash = _code_hash(cipher, challenge.id, code)
    challenge.expires_at = now + CODE_TTL
    session.add(OtpSend(phone_hmac=pseudonym, sent_at=now))
    return challenge, code


def verify_code(session: Session, cipher: ContentCipher, tenant: Tenant, code: str,
                now: dt.datetime | None = None) -> VerifyResult:
    """Check a code; counts failures (the caller commits either way) and verifies the number on success."""
    now = now or utcnow()
    challenge = open_challenge(session, tenant.id)
    if challenge is None:
        return VerifyResult(VerifyOutcome.NO_CHALLENGE)
    if challenge.failures >= MAX_FAILURES:
        return VerifyResult(VerifyOutcome.LOCKED)
    if challenge.expires_at <= now:
        return VerifyResult(VerifyOutcome.EXPIRED)
    if not hmac.compare_digest(challenge.code_hash, _code_hash(cipher, challenge.id, code.strip())):
        challenge.failures += 1
        remaining = MAX_FAILURES - challenge.failures
        return VerifyResult(VerifyOutcome.LOCKED if remaining == 0 else VerifyOutcome.WRONG, remaining)
    changed = challenge.phone_hmac != tenant.phone_hmac
    if changed:
        taken = session.scalar(select(func.count()).select_from(Tenant).where(
            Tenant.phone_hmac == challenge.phone_hmac, Tenant.id != tenant.id))
        if taken:
            return VerifyResult(VerifyOutcome.NUMBER_TAKEN)
        tenant.phone_sealed, tenant.phone_hmac = challenge.phone_sealed, challenge.phone_hmac
        tenant.wa_user_hmac = None
    challenge.consumed_at = now
    tenant.verified = True
    return VerifyResult(VerifyOutcome.VERIFIED, number_changed=changed)


__all__ = ["PhoneTaken", "SendLimitReached", "ChallengeLocked", "VerifyOutcome", "VerifyResult", "issue_code",
           "verify_code", "open_challenge"]
