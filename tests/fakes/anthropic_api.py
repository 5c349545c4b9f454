"""A fake Anthropic Messages API: `POST /v1/messages` (non-streaming), as `anthropic.Anthropic` sends it.

Point the SDK at it with `anthropic.Anthropic(api_key=..., base_url=fake.url)`. Replies come from
a one-shot FIFO queue (`queue_reply`) first, then from rules (`add_reply(needle, tool_input)`):
the first rule whose needle occurs in the text of the request's messages wins; with no match the
input is `NO_MATCH`. A forced tool call (`tool_choice={"type": "tool", "name": X}`, or `"any"` =
the first tool) is answered with a `tool_use` block; otherwise with a text block holding the JSON.
Injected failures (`fail_next`) should use Anthropic's error shape, e.g.
`fake.fail_next(1, 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})`.
"""
from __future__ import annotations

import copy
import json
import secrets
import threading
from collections import deque
from typing import Any

from tests.fakes.base import LoopbackServer, Recorded, Reply, json_reply

NO_MATCH: dict[str, Any] = {"customer": None, "items": [], "missing": ["customer", "items"]}


def anthropic_error(status: int, message: str, error_type: str = "invalid_request_error") -> Reply:
    request_id = f"req_{secrets.token_hex(12)}"
    return json_reply(status, {"type": "error", "error": {"type": error_type, "message": message},
                               "request_id": request_id}, headers={"request-id": request_id})


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    if block.get("type") == "text":
        return str(block.get("text", ""))
    if block.get("type") == "tool_result":
        content = block.get("content", "")
        return content if isinstance(content, str) else "\n".join(_block_text(b) for b in content)
    return ""


def messages_text(messages: list[dict[str, Any]]) -> str:
    """The text of all messages (string content, text blocks, tool_result contents), joined by newlines."""
    texts: list[str] = []
    for message in messages:
        content = message.get("content", "")
        blocks = [content] if isinstance(content, str) else content
        texts.extend(_block_text(b) for b in blocks)
    return "\n".join(texts)


class FakeAnthropic(LoopbackServer):
    """`calls`: the JSON body of each handled `/v1/messages` request (injected failures excluded).

    Requests need `x-api-key` (any key, or exactly `api_key` when given) and `anthropic-version`.
    """

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.calls: list[dict[str, Any]] = []
        self.rules: list[tuple[str, dict[str, Any]]] = []
        self._queue: deque[dict[str, Any]] = deque()
        self._state_lock = threading.Lock()

    def add_reply(self, needle: str, tool_input: dict[str, Any]) -> None:
        with self._state_lock:
            self.rules.append((needle, copy.deepcopy(tool_input)))

    def queue_reply(self, tool_input: dict[str, Any]) -> None:
        """Use `tool_input` for the next request, before any rule (FIFO, one request each)."""
        with self._state_lock:
            self._queue.append(copy.deepcopy(tool_input))

    def handle(self, request: Recorded) -> Reply:
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if not key or (self.api_key is not None and key != self.api_key):
            return anthropic_error(401, "invalid x-api-key", "authentication_error")
        if not request.headers.get("anthropic-version"):
            return anthropic_error(400, "anthropic-version: header is required")
        if request.method == "POST" and request.path == "/v1/messages":
            return self._messages(request.json)
        return anthropic_error(404, f"Not found: {request.method} {request.path}", "not_found_error")

    def _pick(self, text: str) -> dict[str, Any]:
        with self._state_lock:
            if self._queue:
                return self._queue.popleft()
            for needle, tool_input in self.rules:
                if needle in text:
                    return copy.deepcopy(tool_input)
        return copy.deepcopy(NO_MATCH)

    def _messages(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return anthropic_error(400, "request body must be a JSON object")
        for required in ("model", "max_tokens", "messages"):
            if required not in body:
                return anthropic_error(400, f"{required}: Field required")
        if body.get("stream"):
            return anthropic_error(400, "stream: this fake does not support streaming")
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            return anthropic_error(400, "messages: at least one message is required")
        tools = body.get("tools") or []
        tool_names = [t.get("name") for t in tools]
        choice = body.get("tool_choice") or {}
        forced: str | None = None
        if choice.get("type") == "tool":
            forced = choice.get("name")
            if forced not in tool_names:
                return anthropic_error(400, f"tool_choice: tool {forced!r} not found in tools")
        elif choice.get("type") == "any":
            if not tools:
                return anthropic_error(400, "tool_choice: 'any' requires tools")
            forced = tool_names[0]
        with self._state_lock:
            self.calls.append(body)
        text = messages_text(messages)
        tool_input = self._pick(text)
        if forced is not None:
            content: list[dict[str, Any]] = [{"type": "tool_use", "id": f"toolu_{secrets.token_hex(12)}",
                                              "name": forced, "input": tool_input}]
            stop_reason = "tool_use"
        else:
            content = [{"type": "text", "text": json.dumps(tool_input, ensure_ascii=False)}]
            stop_reason = "end_turn"
        usage = {"input_tokens": len(text) // 4 + 1, "output_tokens": len(json.dumps(tool_input)) // 4 + 1}
        return json_reply(200, {"id": f"msg_{secrets.token_hex(12)}", "type": "message", "role": "assistant",
                                "model": body["model"], "content": content, "stop_reason": stop_reason,
                                "stop_sequence": None, "usage": usage})
