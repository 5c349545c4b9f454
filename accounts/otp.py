"""One-time codes: hashed, 10 minutes, single use, 5 tries, 3 sends per number and 5 per tenant and hour.

A code verifies a number (the tenant's, or a new one it switches to) or confirms a new IBAN (sent to the verified
number; the IBAN waits sealed in the challenge). A tenant has one open challenge: a new one supersedes it and
keeps its failures, and a locked one blocks every new code, for any number or purpose, until support lifts it
(or the sweep drops it a day after it expired).
"""
from __future__ import annotations

import datetime as dt
import enum
import hmac
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts import AccountError
from accounts.banking import BankDetails
from accounts.tenants import PhoneTaken
from store.crypto import ContentCipher
from store.models import OtpChallenge, OtpSend, Tenant, utcnow
from store.phones import seal_phone

CODE_TTL = dt.timedelta(minutes=10)
MAX_FAILURES = 5
MAX_SENDS_PER_HOUR = 3  # to one number
MAX_TENANT_SENDS_PER_HOUR = 5  # for one tenant, whatever the numbers


class Purpose(str, enum.Enum):
    NUMBER = "number"  # verify the number the code goes to (and switch to it if it is new)
    BANK = "bank"  # confirm the IBAN sealed in the challenge; the code goes to the verified number


class SendLimitReached(AccountError):
    def __init__(self, retry_at: dt.datetime, per: str = "number") -> None:
        limit = MAX_SENDS_PER_HOUR if per == "number" else MAX_TENANT_SENDS_PER_HOUR
        super().__init__(f"at most {limit} codes per {per} and hour; next one possible at {retry_at:%H:%M} UTC")
        self.retry_at, self.per = retry_at, per


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
    bank_changed: bool = False  # the code confirmed a new IBAN, now on the profile
    notices: tuple[int, ...] = ()  # AccountNotice ids to send (accounts.onboarding fills them in)


def _code_hash(cipher: ContentCipher, challenge_id: int, code: str) -> str:
    return cipher.pseudonym(f"otp:{challenge_id}:{code}")


def open_challenge(session: Session, tenant_id: int) -> OtpChallenge | None:
    """The tenant's newest unconsumed challenge."""
    return session.scalar(select(OtpChallenge).where(OtpChallenge.tenant_id == tenant_id,
                                                     OtpChallenge.consumed_at.is_(None))
                          .order_by(OtpChallenge.id.desc()).limit(1))


def check_send_limits(session: Session, tenant_id: int, pseudonym: str, now: dt.datetime) -> None:
    """SendLimitReached when the number, or the tenant whatever the numbers, had its codes for this hour."""
    hour_ago = now - dt.timedelta(hours=1)
    for per, where, limit in (("number", OtpSend.phone_hmac == pseudonym, MAX_SENDS_PER_HOUR),
                              ("tenant", OtpSend.tenant_id == tenant_id, MAX_TENANT_SENDS_PER_HOUR)):
        sends = list(session.scalars(select(OtpSend.sent_at).where(where, OtpSend.sent_at > hour_ago)
                                     .order_by(OtpSend.sent_at)))
        if len(sends) >= limit:
            raise SendLimitReached(sends[-limit] + dt.timedelta(hours=1), per)


def issue_code(session: Session, cipher: ContentCipher, tenant: Tenant, phone: str | None = None,
               now: dt.datetime | None = None, purpose: Purpose = Purpose.NUMBER) -> tuple[OtpChallenge, str]:
    """A new code for `phone` (default: the tenant's number; always it for Purpose.BANK).

    A resend (same number and purpose) keeps the challenge; another number or purpose supersedes it with a new
    one that inherits its failures. A locked challenge refuses every new code (ChallengeLocked)."""
    now = now or utcnow()
    if phone is None or purpose is Purpose.BANK:
        pseudonym, sealed = tenant.phone_hmac, tenant.phone_sealed
    else:
        sealed, pseudonym = seal_phone(cipher, phone)
    challenge = open_challenge(session, tenant.id)
    if sealed is None or (challenge is not None and challenge.failures >= MAX_FAILURES):
        raise ChallengeLocked()
    check_send_limits(session, tenant.id, pseudonym, now)
    if challenge is None or challenge.phone_hmac != pseudonym or challenge.purpose != purpose.value:
        failures = 0
        if challenge is not None:
            challenge.consumed_at, failures = now, challenge.failures  # superseded; its failures go along
        challenge = OtpChallenge(tenant_id=tenant.id, phone_sealed=sealed, phone_hmac=pseudonym, code_hash="",
                                 expires_at=now + CODE_TTL, created_at=now, failures=failures, purpose=purpose.value)
        session.add(challenge)
        session.flush()
    code = f"{secrets.randbelow(10**6):06d}"
    challenge.code_hash = _code_hash(cipher, challenge.id, code)
    challenge.expires_at = now + CODE_TTL
    session.add(OtpSend(phone_hmac=pseudonym, sent_at=now, tenant_id=tenant.id))
    return challenge, code


def seal_bank_details(cipher: ContentCipher, challenge: OtpChallenge, bank: BankDetails) -> None:
    """Keep the IBAN (and BIC) a Purpose.BANK challenge confirms, sealed and bound to the challenge."""
    payload = json.dumps({"iban": bank.iban, "bic": bank.bic})
    challenge.payload_sealed = cipher.seal_field(payload, f"otp/{challenge.id}/bank")


def open_bank_details(cipher: ContentCipher, challenge: OtpChallenge) -> BankDetails | None:
    if challenge.purpose != Purpose.BANK.value or challenge.payload_sealed is None:
        return None
    payload = json.loads(cipher.open_field(challenge.payload_sealed, f"otp/{challenge.id}/bank"))
    return BankDetails(payload["iban"], payload["bic"])


def find_pending_bank(session: Session, cipher: ContentCipher, tenant_id: int) -> BankDetails | None:
    """The IBAN (and BIC) waiting for its code, if an IBAN change is under way."""
    challenge = open_challenge(session, tenant_id)
    return open_bank_details(cipher, challenge) if challenge is not None else None


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
    bank = open_bank_details(cipher, challenge)
    if bank is not None:
        tenant.iban, tenant.bic = bank.iban, bank.bic
        challenge.consumed_at, challenge.payload_sealed = now, None
        return VerifyResult(VerifyOutcome.VERIFIED, bank_changed=True)
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
           "verify_code", "open_challenge", "Purpose", "BankDetails", "find_pending_bank", "seal_bank_details"]
