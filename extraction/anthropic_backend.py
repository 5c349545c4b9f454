"""Field extraction through the Anthropic SDK: a forced tool call whose input schema is the pydantic model."""
from __future__ import annotations

import datetime as dt
from typing import Any

import anthropic
from anthropic.types import MessageParam, ToolParam

from extraction.extract import SYSTEM, ExtractionServiceFailed, build_prompt, errors_text, validate_with_retry
from extraction.models import CatalogueEntry, InvoiceFields

TOOL_NAME = "record_invoice"
MAX_TOKENS = 2048


def build_tool() -> ToolParam:
    return {
        "name": TOOL_NAME,
        "description": "Record the invoice fields said in the voice note.",
        "input_schema": InvoiceFields.model_json_schema(),
    }


class AnthropicExtractor:
    """The Extractor on Claude (the default backend)."""

    def __init__(self, client: anthropic.Anthropic, model: str) -> None:
        self.client = client
        self.model = model

    def extract(self, words: str, today: dt.date, language: str = "de", draft: InvoiceFields | None = None,
                catalogue: list[CatalogueEntry] | None = None) -> InvoiceFields:
        messages: list[MessageParam] = [{"role": "user", "content": build_prompt(words, today, language, draft,
                                                                                 catalogue)}]
        tool_id, data = self._ask(messages)

        def ask_again(errors: list[str]) -> dict[str, Any]:
            messages.extend([
                {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id, "name": TOOL_NAME,
                                                   "input": data}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "is_error": True,
                                              "content": "Invalid fields, fix these and call the tool again:\n"
                                              + errors_text(errors)}]},
            ])
            return self._ask(messages)[1]

        return validate_with_retry(data, ask_again, draft)

    def _ask(self, messages: list[MessageParam]) -> tuple[str, dict[str, Any]]:
        """One forced tool call; returns (tool_use_id, input)."""
        try:
            response = self.client.messages.create(
                model=self.model, max_tokens=MAX_TOKENS, messages=messages, tools=[build_tool()],
                system=f"{SYSTEM} Always answer by calling the tool {TOOL_NAME}.",
                tool_choice={"type": "tool", "name": TOOL_NAME},
            )
        except anthropic.APIStatusError as exc:
            raise ExtractionServiceFailed(type(exc).__name__, exc.status_code) from exc
        except anthropic.AnthropicError as exc:
            raise ExtractionServiceFailed(type(exc).__name__) from exc
        for block in response.content:
            if block.type == "tool_use" and block.name == TOOL_NAME:
                return block.id, dict(block.input)  # type: ignore[arg-type]
        raise ExtractionServiceFailed("no tool call in the answer")
