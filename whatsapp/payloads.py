"""Pydantic models of the webhook body; lenient on what the product does not use."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Media(_Lenient):
    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    voice: bool = False
    caption: str | None = None  # a document's or image's caption (content: sealed with the message's text)


class Text(_Lenient):
    body: str = ""


class Context(_Lenient):
    """The message a reply refers to: a quoted message or the bot message whose button was pressed."""

    from_: str | None = Field(None, alias="from")  # the business's display number for a bot message
    id: str | None = None


class ButtonReply(_Lenient):
    """A pressed reply button (`button_reply`) or a chosen list row (`list_reply`)."""

    id: str = ""
    title: str = ""


class Interactive(_Lenient):
    type: str | None = None  # "button_reply" or "list_reply"
    button_reply: ButtonReply | None = None
    list_reply: ButtonReply | None = None


class QuickReplyButton(_Lenient):
    """A pressed quick-reply button of a template message (message type "button")."""

    payload: str | None = None
    text: str | None = None


class Message(_Lenient):
    id: str
    type: str = "unknown"
    timestamp: str | None = None
    from_: str | None = Field(None, alias="from")
    from_user_id: str | None = None
    audio: Media | None = None
    document: Media | None = None  # a file sent as a document (e.g. an invoice's PDF sent back for a Storno)
    text: Text | None = None
    context: Context | None = None
    interactive: Interactive | None = None
    button: QuickReplyButton | None = None


class Profile(_Lenient):
    name: str | None = None


class Contact(_Lenient):
    wa_id: str | None = None
    user_id: str | None = None
    profile: Profile | None = None


class Status(_Lenient):
    id: str
    status: str
    recipient_id: str | None = None
    biz_opaque_callback_data: str | None = None  # what the send carried under this name, echoed back


class Metadata(_Lenient):
    phone_number_id: str | None = None
    display_phone_number: str | None = None


class Value(_Lenient):
    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[Contact] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)


class Change(_Lenient):
    field: str | None = None
    value: Value = Field(default_factory=Value)


class Entry(_Lenient):
    id: str | None = None
    changes: list[Change] = Field(default_factory=list)


class WebhookBody(_Lenient):
    object: str
    entry: list[Entry] = Field(default_factory=list)


class Incoming(BaseModel):
    """One message of a webhook body with the sender identifiers resolved from contacts."""

    message: Message
    phone: str | None  # E.164 with '+'
    user_id: str | None


def iter_incoming(body: WebhookBody) -> list[Incoming]:
    """Flatten every message of every entry and change, pairing each with its sender's ids."""
    result: list[Incoming] = []
    for entry in body.entry:
        for change in entry.changes:
            value = change.value
            for message in value.messages:
                contact = _contact_for(value.contacts, message)
                wa_id = message.from_ or (contact.wa_id if contact else None)
                user_id = message.from_user_id or (contact.user_id if contact else None)
                result.append(Incoming(message=message, phone=f"+{wa_id.lstrip('+')}" if wa_id else None,
                                       user_id=user_id))
    return result


def _contact_for(contacts: list[Contact], message: Message) -> Contact | None:
    for contact in contacts:
        if message.from_ and contact.wa_id == message.from_:
            return contact
        if message.from_user_id and contact.user_id == message.from_user_id:
            return contact
    return contacts[0] if len(contacts) == 1 else None
