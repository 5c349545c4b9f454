"""The emulator's chats and media in Redis, and its way into the app's own webhook.

Redis is the one store the web process (which shows the chats and serves the emulated Graph API) and the workers
(whose sends arrive through that API from another process) share. Everything lives under `emulator:` and expires:
chats after CHAT_TTL, media bytes after MEDIA_TTL. Content is never logged.
"""
from __future__ import annotations

import json
import secrets
import time
from typing import Any

import redis
from flask import current_app
from sqlalchemy import select

from services import Services
from store.models import Tenant
from store.phones import open_phone
from whatsapp.signature import sign_body

PREFIX = "emulator:"
CHAT_TTL = 24 * 3600
MEDIA_TTL = 3600  # Meta's media URLs live 5 minutes, its ids 7 days; a dev chat needs an hour at most
TYPING_SECONDS = 25  # Meta drops the typing indicator after 25 s or with the next message
MAX_MESSAGES = 300  # per chat, oldest dropped
STATUS_RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}


class ChatStore:
    """Messages as JSON records (`emulator:msg:<id>`), each chat an ordered list of ids (`emulator:chat:<digits>`)."""

    CHATS = f"{PREFIX}chats"  # sorted set: numbers with a chat, by last activity

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    @staticmethod
    def _msg(message_id: str) -> str:
        return f"{PREFIX}msg:{message_id}"

    @staticmethod
    def _chat(digits: str) -> str:
        return f"{PREFIX}chat:{digits}"

    @staticmethod
    def _typing(digits: str) -> str:
        return f"{PREFIX}typing:{digits}"

    @staticmethod
    def _media(media_id: str) -> str:
        return f"{PREFIX}media:{media_id}"

    def add(self, digits: str, record: dict[str, Any]) -> dict[str, Any]:
        """Append a message record (it needs an `id`) to the chat of `digits`."""
        record = {"time": int(time.time()), **record, "chat": digits}
        pipe = self.redis.pipeline()
        pipe.set(self._msg(record["id"]), json.dumps(record), ex=CHAT_TTL)
        pipe.rpush(self._chat(digits), record["id"])
        pipe.ltrim(self._chat(digits), -MAX_MESSAGES, -1)
        pipe.expire(self._chat(digits), CHAT_TTL)
        pipe.zadd(self.CHATS, {digits: time.time()})
        pipe.expire(self.CHATS, CHAT_TTL)
        pipe.execute()
        return record

    def add_error(self, digits: str, error: dict[str, Any], what: str) -> dict[str, Any]:
        """A visible error in the chat: a refused send, a webhook that did not answer 200."""
        return self.add(digits, {"id": f"error.{secrets.token_hex(8)}", "from": "system", "type": "error",
                                 "error": error, "what": what})

    def get(self, message_id: str) -> dict[str, Any] | None:
        raw = self.redis.get(self._msg(message_id))
        return json.loads(raw) if raw else None

    def update(self, message_id: str, **changes: Any) -> dict[str, Any] | None:
        """Change fields of a record atomically; a status only ever moves forward (sent < delivered < read),
        except to 'failed'."""
        key = self._msg(message_id)
        result: list[dict[str, Any] | None] = [None]

        def change(pipe: Any) -> None:
            raw = pipe.get(key)
            if not raw:
                return
            record = json.loads(raw)
            status = changes.get("status")
            if status is not None and status != "failed" and \
                    STATUS_RANK.get(status, 0) < STATUS_RANK.get(record.get("status", "pending"), 0):
                changes.pop("status")
            record.update(changes)
            pipe.multi()
            pipe.set(key, json.dumps(record), keepttl=True)
            result[0] = record

        self.redis.transaction(change, key)
        return result[0]

    def messages(self, digits: str) -> list[dict[str, Any]]:
        ids = [_text(i) for i in self.redis.lrange(self._chat(digits), 0, -1)]
        if not ids:
            return []
        raws = self.redis.mget([self._msg(i) for i in ids])
        return [json.loads(raw) for raw in raws if raw]

    def chats(self) -> list[str]:
        """Numbers (digits) with an emulator chat, newest activity first."""
        return [_text(d) for d in self.redis.zrevrange(self.CHATS, 0, 50)]

    def clear(self, digits: str) -> None:
        ids = [_text(i) for i in self.redis.lrange(self._chat(digits), 0, -1)]
        self.redis.delete(self._chat(digits), self._typing(digits), *[self._msg(i) for i in ids])

    def set_typing(self, digits: str, on: bool) -> None:
        if on:
            self.redis.set(self._typing(digits), "1", ex=TYPING_SECONDS)
        else:
            self.redis.delete(self._typing(digits))

    def is_typing(self, digits: str) -> bool:
        return bool(self.redis.exists(self._typing(digits)))

    def put_media(self, media_id: str, data: bytes, mime_type: str) -> None:
        self.redis.hset(self._media(media_id), mapping={"data": data, "mime": mime_type})
        self.redis.expire(self._media(media_id), MEDIA_TTL)

    def get_media(self, media_id: str) -> tuple[bytes, str] | None:
        found: dict[bytes, bytes] = self.redis.hgetall(self._media(media_id))  # type: ignore[assignment]
        if not found:
            return None
        return found[b"data"], found[b"mime"].decode()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def chat_store(services: Services) -> ChatStore:
    return ChatStore(services.redis)


def deliver_webhook(services: Services, body: dict[str, Any]) -> int:
    """POST a body to the app's own /webhook, signed with the app secret as Meta signs it, in-process (the dev
    server may serve one request at a time); returns the answer's status code."""
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json",
               "X-Hub-Signature-256": sign_body(services.settings.whatsapp_app_secret, raw)}
    response = current_app.test_client().post("/webhook", data=raw, headers=headers)
    return response.status_code


def tenant_numbers(services: Services) -> list[dict[str, Any]]:
    """The numbers of the tenants still on board (active first, then verified, then oldest), for the picker."""
    with services.db.session() as session:
        tenants = session.scalars(select(Tenant).where(Tenant.offboarded_at.is_(None),
                                                       Tenant.phone_sealed.is_not(None))
                                  .order_by(Tenant.active.desc(), Tenant.verified.desc(), Tenant.id)).all()
        return [{"phone": open_phone(services.cipher, t.phone_sealed, t.phone_hmac), "company": t.company,
                 "verified": t.verified, "active": t.active} for t in tenants]
