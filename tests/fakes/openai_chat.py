"""A fake OpenAI-compatible chat endpoint: `POST /v1/chat/completions` (non-streaming), as `openai.OpenAI` sends it.

What OpenAI, vLLM, llama.cpp server and Ollama share. Point the SDK at it with
`openai.OpenAI(api_key=..., base_url=f"{fake.url}/v1")`. Replies come from a one-shot FIFO queue (`queue_reply`)
first, then from rules (`add_reply(needle, answer)`): the first rule whose needle occurs in the text of the
request's messages wins; with no match the answer is `NO_MATCH`. A dict answer is sent as its JSON text in
`choices[0].message.content`, a str answer as it is (a model's broken JSON, a Markdown fence).
`response_format` is checked as OpenAI checks it: `json_schema` needs a `name` and a `schema`, and with
`strict: true` every object in the schema must list all its properties as required and forbid others.
Injected failures (`fail_next`) use OpenAI's error shape, e.g.
`fake.fail_next(1, 429, {"error": {"message": "Rate limit", "type": "rate_limit_error", "param": None, "code": None}})`.
"""
from __future__ import annotations

import copy
import json
import re
import secrets
import threading
import time
from collections import deque
from typing import Any

from tests.fakes.base import LoopbackServer, Recorded, Reply, json_reply
from tests.fakes.openai_api import openai_error

NO_MATCH: dict[str, Any] = {"customer": None, "items": [], "missing": ["customer", "items"]}
ROLES = ("system", "developer", "user", "assistant", "tool")
SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def messages_text(messages: list[dict[str, Any]]) -> str:
    """The text of all messages (string content or text parts), joined by newlines."""
    texts: list[str] = []
    for message in messages:
        content = message.get("content") or ""
        if isinstance(content, str):
            texts.append(content)
        else:
            texts.extend(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "\n".join(texts)


def strict_schema_problem(schema: Any, where: str = "root") -> str | None:
    """Why OpenAI's strict mode would refuse this schema (objects must require every property and forbid others)."""
    if isinstance(schema, list):
        return next((p for i, s in enumerate(schema) if (p := strict_schema_problem(s, f"{where}[{i}]"))), None)
    if not isinstance(schema, dict):
        return None
    properties = schema.get("properties")
    if schema.get("type") == "object" or properties is not None:
        if schema.get("additionalProperties") is not False:
            return f"In context={where}, 'additionalProperties' is required to be supplied and to be false"
        absent = sorted(set(properties or {}) - set(schema.get("required") or []))
        if absent:
            return f"In context={where}, 'required' is required to include every key in properties: {absent[0]}"
    return next((p for key, value in schema.items() if (p := strict_schema_problem(value, f"{where}.{key}"))), None)


class FakeOpenAIChat(LoopbackServer):
    """`calls`: the JSON body of each handled `/v1/chat/completions` request (injected failures excluded).

    Requests need `Authorization: Bearer <key>` (any key, or exactly `api_key` when given).
    """

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.calls: list[dict[str, Any]] = []
        self.rules: list[tuple[str, dict[str, Any] | str]] = []
        self._queue: deque[dict[str, Any] | str] = deque()
        self._state_lock = threading.Lock()

    def add_reply(self, needle: str, answer: dict[str, Any] | str) -> None:
        with self._state_lock:
            self.rules.append((needle, copy.deepcopy(answer)))

    def queue_reply(self, answer: dict[str, Any] | str) -> None:
        """Use `answer` for the next request, before any rule (FIFO, one request each)."""
        with self._state_lock:
            self._queue.append(copy.deepcopy(answer))

    def handle(self, request: Recorded) -> Reply:
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not key or (self.api_key is not None and key != self.api_key):
            return openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
        if request.method == "POST" and request.path == "/v1/chat/completions":
            return self._complete(request.json)
        return openai_error(404, f"Invalid URL ({request.method} {request.path})")

    def _pick(self, text: str) -> dict[str, Any] | str:
        with self._state_lock:
            if self._queue:
                return self._queue.popleft()
            for needle, answer in self.rules:
                if needle in text:
                    return copy.deepcopy(answer)
        return copy.deepcopy(NO_MATCH)

    def _complete(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return openai_error(400, "We could not parse the JSON body of your request.")
        for required in ("model", "messages"):
            if required not in body:
                return openai_error(400, f"Missing required parameter: '{required}'.", param=required)
        if body.get("stream"):
            return openai_error(400, "stream: this fake does not support streaming", param="stream")
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            return openai_error(400, "'messages' must contain at least one message.", param="messages")
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                return openai_error(400, f"Invalid value for 'messages[{i}].role'.", param=f"messages[{i}].role")
        problem = self._check_response_format(body.get("response_format"))
        if problem is not None:
            return openai_error(400, problem, param="response_format")
        with self._state_lock:
            self.calls.append(body)
        text = messages_text(messages)
        answer = self._pick(text)
        content = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
        prompt_tokens, completion_tokens = len(text) // 4 + 1, len(content) // 4 + 1
        return json_reply(200, {
            "id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion", "created": int(time.time()),
            "model": body["model"], "system_fingerprint": None,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    @staticmethod
    def _check_response_format(response_format: Any) -> str | None:
        if response_format is None:
            return None
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        if kind in ("text", "json_object"):
            return None
        if kind != "json_schema":
            return f"Invalid value: {kind!r}. Supported values are: 'text', 'json_object' and 'json_schema'."
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict):
            return "Missing required parameter: 'response_format.json_schema'."
        if not SCHEMA_NAME.match(str(spec.get("name", ""))):
            return "Invalid 'response_format.json_schema.name': must match ^[a-zA-Z0-9_-]{1,64}$."
        schema = spec.get("schema")
        if not isinstance(schema, dict):
            return "Invalid 'response_format.json_schema.schema': expected an object."
        if spec.get("strict"):
            problem = strict_schema_problem(schema)
            if problem is not None:
                return f"Invalid schema for response_format '{spec['name']}': {problem}."
        return None
