"""Loopback HTTP servers speaking the wire formats of WhatsApp Cloud API, OpenAI (transcription; chat completions
as any OpenAI-compatible endpoint serves them) and Anthropic."""
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.base import LoopbackServer, Recorded, Reply
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openai_chat import FakeOpenAIChat
from tests.fakes.whatsapp import FakeWhatsApp

__all__ = ["FakeAnthropic", "FakeOpenAI", "FakeOpenAIChat", "FakeWhatsApp", "LoopbackServer", "Recorded", "Reply"]
