"""Database models. Content columns hold AES-GCM ciphertext only; no phone numbers in clear lookups."""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, returns aware UTC: same behaviour on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime}


class MessageKind(str, enum.Enum):
    VOICE = "voice"
    AUDIO = "audio"
    TEXT = "text"
    BUTTON = "button"  # a press on one of the bot's reply buttons
    DOCUMENT = "document"  # a file (a returned invoice PDF for a Storno); its caption is sealed like a text
    OTHER = "other"


class InboundState(str, enum.Enum):
    RECEIVED = "received"
    PROCESSING = "processing"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"


class Outcome(str, enum.Enum):
    """What processing an inbound message led to (metadata, no content)."""

    INVOICED = "invoiced"
    DRAFTED = "drafted"  # a new draft was shown
    REVISED = "revised"  # a correction or an answer revised a draft
    UNCHANGED = "unchanged"  # a correction that changed nothing
    DISCARDED = "discarded"
    CHANGE_ASKED = "change_asked"
    HELP_SENT = "help_sent"
    STATUS_SENT = "status_sent"
    NOTHING_INVOICEABLE = "nothing_invoiceable"
    PRICE_ASKED = "price_asked"
    DETAILS_ASKED = "details_asked"  # e.g. what an XRechnung still needs
    HINT_SENT = "hint_sent"
    APOLOGISED = "apologised"
    CODE_CHECKED = "code_checked"
    VERIFIED = "verified"  # a typed code verified the number; the welcome follows
    ACCOUNT_LINK_SENT = "account_link_sent"
    EXPORT_LINK_SENT = "export_link_sent"
    DELETION_ASKED = "deletion_asked"
    DELETION_CANCELLED = "deletion_cancelled"
    CONTENT_DELETED = "content_deleted"
    ANSWERED = "answered"  # a retried turn whose answer had gone out before its worker died: nothing done again
    PROBLEM_EXPLAINED = "problem_explained"  # a permanent error (unusable audio, a refused request), said in the chat
    CANCELLATION_ISSUED = "cancellation_issued"  # STORNO: a Stornorechnung, and the corrected invoice as a draft
    CANCELLATION_REFUSED = "cancellation_refused"  # STORNO of an unknown, cancelled or deleted invoice: nothing done
    CUSTOMER_MAILED = "customer_mailed"  # "An Kunden senden": the invoice went to the customer by e-mail
    CUSTOMER_MAIL_REFUSED = "customer_mail_refused"  # not sent (content gone, no or bad address, no SMTP): said why
    EMAIL_SAVED = "email_saved"  # a customer's e-mail address typed after the invoice, kept with its content
    DOCUMENT_EXPLAINED = "document_explained"  # a document without "Storno": its media id is kept for a STORNO next


class OutboundState(str, enum.Enum):
    PENDING = "pending"  # recorded before sending; the send may or may not have happened
    SENT = "sent"  # WhatsApp took it: its answer named the message, or a status webhook carried the callback data


class InvoiceState(str, enum.Enum):
    DRAFT = "draft"  # no number yet: shown to the tradesperson, corrected, then issued or discarded
    ISSUED = "issued"
    DOWNLOADED = "downloaded"
    DELETED = "deleted"
    CANCELLED = "cancelled"  # undone by a Stornorechnung; stays so after its content is deleted (deleted_at)


class ArchiveState(str, enum.Enum):
    """Where an issued invoice's copy to the tenant's archive addresses stands (no address: None)."""

    PENDING = "pending"  # to be sent: the content is kept past a download until the mail server takes it
    SENT = "sent"  # the mail server accepted it
    FAILED = "failed"  # the tries are spent: the content stays until retention, the tradesperson was told


class DeletionTrigger(str, enum.Enum):
    DOWNLOAD = "download"
    RETENTION = "retention"
    REQUEST = "request"
    OFFBOARDING = "offboarding"
    DISCARD = "discard"  # a draft the tradesperson threw away


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, values_callable=lambda e: [m.value for m in e], native_enum=False, length=32)


IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}  # a logo's first bytes


def sniff_image_type(data: bytes) -> str | None:
    """The logo's MIME type judged by its bytes: PNG or JPEG, else None."""
    return next((kind for magic, kind in IMAGE_TYPES.items() if data.startswith(magic)), None)


class Tenant(Base):
    """A tradesperson's business and its WhatsApp number."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    company: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="DE")
    tax_number: Mapped[str | None] = mapped_column(String(40))
    vat_id: Mapped[str | None] = mapped_column(String(40))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    email: Mapped[str] = mapped_column(String(200))
    business_phone: Mapped[str | None] = mapped_column(String(40))  # printed on invoices; not the WhatsApp number
    hourly_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("19"))
    small_business: Mapped[bool] = mapped_column(default=False)
    payment_terms_days: Mapped[int] = mapped_column(default=14)
    language: Mapped[str] = mapped_column(String(2), default="de")
    number_format: Mapped[str] = mapped_column(String(60), default="RE-{YYYY}-{NNNN}")
    invoice_counter: Mapped[int] = mapped_column(default=0)
    vocabulary: Mapped[str | None] = mapped_column(String(500))
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # for replies; None once offboarded
    phone_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    wa_user_hmac: Mapped[str | None] = mapped_column(String(64), unique=True)
    verified: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)  # support can disable a number
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_mime: Mapped[str | None] = mapped_column(String(20))
    retention_days: Mapped[int] = mapped_column(default=30)  # 1..30, capped by RETENTION_DAYS
    auto_issue: Mapped[bool] = mapped_column(default=False)  # skip the draft and issue at once
    delete_requested_at: Mapped[dt.datetime | None] = mapped_column()  # LÖSCHEN awaiting JA/NEIN
    offboarded_at: Mapped[dt.datetime | None] = mapped_column()
    welcomed_at: Mapped[dt.datetime | None] = mapped_column()
    last_activity_at: Mapped[dt.datetime | None] = mapped_column()
    archive_reminded_at: Mapped[dt.datetime | None] = mapped_column()  # the §14b reminder without archive address
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InboundMessage(Base):
    """One received WhatsApp message: metadata only."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    wa_message_hmac: Mapped[str] = mapped_column(String(64), unique=True)  # a wamid encodes the sender's number
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"), index=True)
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind))
    media_id: Mapped[str | None] = mapped_column(String(100))
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # wamid and text, encrypted, cleared when done
    state: Mapped[InboundState] = mapped_column(_enum(InboundState), default=InboundState.RECEIVED, index=True)
    outcome: Mapped[Outcome | None] = mapped_column(_enum(Outcome))
    error_code: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboundReply(Base):
    """A reply of one conversation turn, recorded before it is sent so that no retry sends it twice. Its id goes out
    as the send's `biz_opaque_callback_data` and comes back in the status webhook, which settles a send whose
    answer was lost. No content: the WhatsApp message id only sealed."""

    __tablename__ = "outbound_replies"
    __table_args__ = (UniqueConstraint("inbound_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(20))  # which reply of the turn ("answer")
    state: Mapped[OutboundState] = mapped_column(_enum(OutboundState), default=OutboundState.PENDING)
    sends: Mapped[int] = mapped_column(default=1)  # how often it went out: once, or once more if never settled
    wamid_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Invoice(Base):
    """A draft (no number yet) or an issued invoice. Content (fields, transcript, PDF) is sealed under its own
    data key."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id", ondelete="SET NULL"), unique=True)
    number: Mapped[str | None] = mapped_column(String(60))  # None while a draft
    state: Mapped[InvoiceState] = mapped_column(_enum(InvoiceState), default=InvoiceState.ISSUED, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    issued_at: Mapped[dt.datetime | None] = mapped_column()
    shown_at: Mapped[dt.datetime | None] = mapped_column()  # a draft's last showing: the newest is the default target
    revised_by: Mapped[int | None] = mapped_column()  # the inbound message id of a draft's last revision
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)  # end of retention: content deleted by then
    downloaded_at: Mapped[dt.datetime | None] = mapped_column()
    deleted_at: Mapped[dt.datetime | None] = mapped_column()
    # kept while the contract runs (no content): the SHA-256 of the issued EN 16931 XML (the one in the PDF), and on
    # a Stornorechnung the invoice it cancels (once: unique)
    xml_sha256: Mapped[str | None] = mapped_column(String(64))
    cancels_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), unique=True)
    archive_state: Mapped[ArchiveState | None] = mapped_column(_enum(ArchiveState))  # None: no archive address
    archived_at: Mapped[dt.datetime | None] = mapped_column()  # the mail server accepted the archive copy
    customer_mailed_at: Mapped[dt.datetime | None] = mapped_column()  # e-mailed to the customer ("An Kunden senden")


class ArchiveAddress(Base):
    """One of a tenant's archive mailboxes (its own, or its accounting software's document inbox): business data,
    kept while the contract runs. Every issued invoice is e-mailed there before its content is forgotten."""

    __tablename__ = "archive_addresses"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(200))


class SealedContent(Base):
    """One encrypted content blob of an invoice; deleted with its data key."""

    __tablename__ = "sealed_contents"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class DataKey(Base):
    """The per-invoice data key, wrapped by a key file outside the database (`key_ref`); deleting either shreds."""

    __tablename__ = "data_keys"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    key_ref: Mapped[str | None] = mapped_column(String(60))


class MagicLink(Base):
    """A download link; only the SHA-256 of its token is stored."""

    __tablename__ = "magic_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DraftMessage(Base):
    """A bot message that showed a draft, by pseudonym of its WhatsApp id: a reply quoting it targets the draft."""

    __tablename__ = "draft_messages"

    wa_message_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)


class PriceItem(Base):
    """One entry of a tenant's price list (business data, kept while the contract runs)."""

    __tablename__ = "price_items"
    __table_args__ = (UniqueConstraint("tenant_id", "description"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))  # extraction.models.Unit values
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # net
    vat_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))  # None: the tenant's default


class DeletionReceipt(Base):
    """Proof that content was deleted: no personal data, only categories and counts."""

    __tablename__ = "deletion_receipts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"), index=True)
    trigger: Mapped[DeletionTrigger] = mapped_column(_enum(DeletionTrigger))
    categories: Mapped[dict[str, int]] = mapped_column(JSON)
    # of one invoice: whether its archive copy had been handed to the mail server (None: no copy was due)
    archive_handed_off: Mapped[bool | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OtpChallenge(Base):
    """A one-time code sent to a number: to verify it (the tenant's, or a new one it wants to switch to), or to
    the verified number to confirm a new IBAN (purpose 'bank', the IBAN and BIC sealed until confirmed)."""

    __tablename__ = "otp_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    phone_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    phone_hmac: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    consumed_at: Mapped[dt.datetime | None] = mapped_column()
    purpose: Mapped[str] = mapped_column(String(10), default="number", server_default="number")
    payload_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # purpose 'bank': the pending IBAN and BIC


class OtpSend(Base):
    """One code sent to a number pseudonym for a tenant: the send limits count these."""

    __tablename__ = "otp_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_hmac: Mapped[str] = mapped_column(String(64), index=True)
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


class AccountNotice(Base):
    """A security notice to send (a new WhatsApp number, a new IBAN asked for or applied): a WhatsApp text to the
    number it names (the old one after a number change; None: the tenant's) and a mail to `email` when SMTP is
    set. The row goes once both are sent; the sweep drops what is left after a day."""

    __tablename__ = "account_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hmac: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(String(40))  # a masked IBAN ('DE02 … 2051')
    texted_at: Mapped[dt.datetime | None] = mapped_column()  # the WhatsApp text went; a retry sends the mail only
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SenderNotice(Base):
    """Rate limit of the 'how to get verified' reply to unknown senders; keyed by pseudonym only."""

    __tablename__ = "sender_notices"

    phone_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_sent_at: Mapped[dt.datetime | None] = mapped_column()
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # only until the notice is sent


class LinkPurpose(str, enum.Enum):
    LOGIN = "login"
    EXPORT = "export"


class LoginLink(Base):
    """A single-use link of a tenant's (account login or data export); only its hash is stored."""

    __tablename__ = "login_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[LinkPurpose] = mapped_column(_enum(LinkPurpose), default=LinkPurpose.LOGIN)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()


class StaffUser(Base):
    """A support agent: password (argon2id) plus TOTP second factor."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(default=True)
    last_totp_step: Mapped[int | None] = mapped_column()  # a TOTP code is accepted once
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StaffSession(Base):
    """A staff login's server-side record: the cookie holds a token whose hash names it; logout deletes it."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # the absolute lifetime counts from here
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # the idle timeout counts from here


class StaffLoginFailure(Base):
    """One failed support login, keyed by pseudonyms of the address typed (known or not) and of the client
    address: the login throttle counts these; rows older than its longest window go at the next failure."""

    __tablename__ = "staff_login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    address_key: Mapped[str] = mapped_column(String(64), index=True)
    source_key: Mapped[str] = mapped_column(String(64), index=True)


class AuditEntry(Base):
    """Who did what to which tenant, and when; never content."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"), index=True)
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
