"""Field extraction through any OpenAI-compatible chat endpoint (OpenAI, an EU-hosted provider, vLLM, llama.cpp
server, Ollama) with JSON-schema structured output.

The schema goes in OpenAI's wrapper form, `response_format={"type": "json_schema", "json_schema": {"name", "schema",
"strict"}}`, which vLLM, llama.cpp server and Ollama take too. Not strict: strict mode wants every property required
and no additional properties, and the contract's optional keys mean null when absent. Some servers accept the
schema without enforcing it, so the system prompt asks for the JSON object as well, and our validation decides.
"""
from __future__ import annotations

import datetime as dt

import openai
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from extraction.extract import SYSTEM, ExtractionServiceFailed, build_prompt, errors_text, validate_with_retry
from extraction.models import CatalogueEntry, InvoiceFields

SCHEMA_NAME = "invoice_fields"
MAX_TOKENS = 2048  # `max_tokens`, not `max_completion_tokens`: Ollama and llama.cpp server know only this one
JSON_ONLY = f" Answer with one JSON object that matches the JSON schema {SCHEMA_NAME}, and nothing else."


def build_response_format() -> ResponseFormatJSONSchema:
    return {"type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "description": "The invoice fields said in the message.",
                            "schema": InvoiceFields.model_json_schema(), "strict": False}}


def unfence(content: str) -> str:
    """The JSON of an answer, without the Markdown code fence a model that was not held to the schema may add."""
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


class OpenAICompatibleExtractor:
    """The Extractor on a chat-completions endpoint (EXTRACT_BACKEND=openai)."""

    def __init__(self, client: openai.OpenAI, model: str) -> None:
        self.client = client
        self.model = model

    def extract(self, words: str, today: dt.date, language: str = "de", draft: InvoiceFields | None = None,
                catalogue: list[CatalogueEntry] | None = None) -> InvoiceFields:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": SYSTEM + JSON_ONLY},
            {"role": "user", "content": build_prompt(words, today, language, draft, catalogue)},
        ]
        content = self._ask(messages)

        def ask_again(errors: list[str]) -> str:
            messages.extend([
                {"role": "assistant", "content": content},
                {"role": "user", "content": "Invalid fields, fix these and answer again with the complete JSON "
                                            "object:\n" + errors_text(errors)},
            ])
            return unfence(self._ask(messages))

        return validate_with_retry(unfence(content), ask_again, draft)

    def _ask(self, messages: list[ChatCompletionMessageParam]) -> str:
        """One chat completion; returns the answer's text (the JSON)."""
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, response_format=build_response_format(), max_tokens=MAX_TOKENS,
            )
        except openai.APIStatusError as exc:
            raise ExtractionServiceFailed(type(exc).__name__, exc.status_code) from exc
        except openai.OpenAIError as exc:
            raise ExtractionServiceFailed(type(exc).__name__) from exc
        if not response.choices:
            raise ExtractionServiceFailed("no choice in the answer")
        message = response.choices[0].message
        if message.refusal:
            raise ExtractionServiceFailed("the model refused")
        if not message.content:
            raise ExtractionServiceFailed("no content in the answer")
        return message.content
