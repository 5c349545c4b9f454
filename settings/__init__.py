"""Settings, read once from the environment by create_app (DESIGN section 4 names are fixed)."""
from __future__ import annotations

import os
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EXTRACT_MODELS = {"anthropic": "claude-sonnet-4-6", "openai": "gpt-4.1-mini"}  # when EXTRACT_MODEL is unset
MIN_SECRET_BYTES = 32
HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
B64_KEY = re.compile(r"[A-Za-z0-9_-]{43}=?")  # urlsafe base64 of 32 bytes
REDIS_SCHEMES = ("redis", "rediss", "unix")  # KEY_STORE_URL schemes (store.keystores opens them)
POSTGRES_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
KEY_STORE_SCHEMES = ("file", *REDIS_SCHEMES, *POSTGRES_SCHEMES)


# EMULATOR=1 (development): the app's own emulated Graph API, and credentials for it where none are set
EMULATOR_GRAPH_PATH = "/emulator/graph/v25.0"
EMULATOR_CREDENTIALS = {"whatsapp_token": "emulator-token", "whatsapp_app_secret": "emulator-app-secret",
                        "whatsapp_phone_number_id": "100000000000001"}


def is_same_place(first: str, second: str, server: bool = False) -> bool:
    """Whether two URLs name the same host and port (and, unless `server`, the same database or socket path)."""
    a, b = urlsplit(first), urlsplit(second)
    same_server = (a.hostname, a.port) == (b.hostname, b.port)
    return same_server and ((server and a.hostname is not None) or a.path.rstrip("/") == b.path.rstrip("/"))


class Settings(BaseSettings):
    # An empty variable (KEY=) means the default, so a copied .env.example starts as it is.
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, env_ignore_empty=True)

    app_env: Literal["development", "production", "test"] = Field(
        "development", description="'production' makes SECRET_KEY and CONTENT_KEY mandatory and checks them")
    database_url: str | None = None
    redis_url: str | None = None
    public_base_url: str = Field(default_factory=lambda: f"http://localhost:{os.environ.get('PORT') or 5000}",
                                 description="base of the links the bot sends; default: this machine's PORT")
    secret_key: str | None = None
    content_key: str | None = None
    whatsapp_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_api_base: str = "https://graph.facebook.com/v25.0"
    whatsapp_otp_template: str = "verification_code"
    support_contact: str = "support@sprachrechnung.de"
    smtp_url: str | None = None
    mail_from: str = "Sprachrechnung <no-reply@sprachrechnung.de>"
    openai_api_key: str = "unset"
    openai_base_url: str | None = None
    anthropic_api_key: str = "unset"
    anthropic_base_url: str | None = None
    transcribe_model: str = "whisper-1"
    transcribe_backend: Literal["openai", "local"] | None = Field(
        None, description="'local': faster-whisper on this machine; unset: 'local' when no OPENAI_API_KEY is set")
    local_whisper_model: str | None = Field(
        None, description="a CTranslate2 Whisper model folder; unset: instance/whisper-base, assembled on first use")
    extract_backend: Literal["anthropic", "openai"] = Field(
        "anthropic", description="'openai': any OpenAI-compatible chat endpoint (EXTRACT_BASE_URL, EXTRACT_API_KEY)")
    extract_base_url: str | None = None
    extract_api_key: str | None = None
    extract_model: str = Field("", description="default: EXTRACT_MODELS of the backend")
    retention_days: int = Field(30, ge=1, le=30, description="upper bound and default of the tenants' retention")
    key_dir: str | None = Field(None, description="the key files' folder when KEY_STORE_URL is unset (default "
                                "instance/keys); keep out of database backups")
    key_store_url: str | None = Field(None, description="where per-invoice keys live, outside the database backups: "
                                      "file:///path, redis://... or postgresql://...; default file://KEY_DIR")
    key_store_fallback_url: str | None = Field(None, description="while keys move to KEY_STORE_URL: the store they "
                                               "come from, read when a key is not found and deleted from as well")
    export_hours: int = Field(24, ge=1, le=72)
    link_days: int = Field(7, ge=1, le=30)
    download_grace_seconds: int = Field(0, ge=0, le=3600)
    support_session_hours: int = Field(12, ge=1, le=24, description="a support console session's absolute lifetime")
    proxy_hops: int = Field(0, ge=0, le=5, description="proxies in front of the app that append to X-Forwarded-For")
    http_timeout: float = 10.0
    http_retries: int = 3
    http_backoff: float = 0.5
    ai_timeout: float = 60.0
    ai_retries: int = 2
    job_retries: int = 3
    job_retry_intervals: list[int] = Field(default_factory=lambda: [10, 60, 300])
    sweep_interval_seconds: int = 300
    db_connect_timeout: float = Field(5.0, gt=0, description="seconds to open a database connection")
    db_statement_timeout: float = Field(15.0, gt=0, description="seconds one SQL statement may run (PostgreSQL "
                                        "statement_timeout; SQLite: how long to wait for a lock)")
    db_pool_timeout: float = Field(5.0, gt=0, description="seconds to wait for a free pooled connection")
    webhook_max_age_hours: float = Field(
        8 * 24, gt=0, description="messages older than this are not processed: WhatsApp redelivers for up to "
        "7 days, so anything older is a replay (7 days + 1 day for clocks and the last retry)")
    stuck_after_seconds: int = Field(30, ge=3, description="a message's job counts as lost when its row has not been "
                                     "touched for this long: a running job beats every third of it")
    reply_settle_seconds: float = Field(60.0, ge=0, description="how long a reply whose send went unanswered waits "
                                        "for its status webhook before it is sent once more")
    queue_name: str = "default"
    emulator: bool = Field(False, description="serve the WhatsApp emulator at /emulator (never in production)")

    @field_validator("extract_backend", mode="before")
    @classmethod
    def lower_backend(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("transcribe_backend", mode="before")
    @classmethod
    def lower_transcribe_backend(cls, value: object) -> object:
        return (value.strip().lower() or None) if isinstance(value, str) else value

    @model_validator(mode="after")
    def default_transcribe_backend(self) -> Settings:
        """Without an OpenAI key (unset, empty or the placeholder "unset"), voice notes are transcribed locally."""
        if self.transcribe_backend is None:
            self.transcribe_backend = "local" if self.openai_api_key.strip() in ("", "unset") else "openai"
        return self

    @model_validator(mode="after")
    def default_extract_model(self) -> Settings:
        if not self.extract_model.strip():
            self.extract_model = EXTRACT_MODELS[self.extract_backend]
        return self

    @model_validator(mode="after")
    def point_whatsapp_at_emulator(self) -> Settings:
        """EMULATOR=1 outside production: WhatsApp calls go to the emulated Graph API under PUBLIC_BASE_URL unless
        WHATSAPP_API_BASE is set, with development credentials where none are set."""
        if not self.emulator or self.is_production:
            return self
        if "whatsapp_api_base" not in self.model_fields_set:
            self.whatsapp_api_base = self.public_url(EMULATOR_GRAPH_PATH)
        for name, value in EMULATOR_CREDENTIALS.items():
            if not getattr(self, name):
                setattr(self, name, value)
        return self

    @field_validator("content_key")
    @classmethod
    def check_content_key(cls, value: str | None) -> str | None:
        """64 hex characters (or urlsafe base64 of 32 bytes, as store.crypto reads it), in every environment."""
        if value and not (HEX_KEY.fullmatch(value.strip()) or B64_KEY.fullmatch(value.strip())):
            raise ValueError("must be 64 hex characters (32 bytes); generate one with "
                             "python -c \"import secrets; print(secrets.token_hex(32))\"")
        return value

    @field_validator("key_store_url", "key_store_fallback_url")
    @classmethod
    def check_key_store_url(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme.lower() not in KEY_STORE_SCHEMES:
            raise ValueError("must start with file://, redis:// or postgresql://")
        return value

    @model_validator(mode="after")
    def refuse_weak_production(self) -> Settings:
        """Production starts only with both keys set and the secret key long enough."""
        if not self.is_production:
            return self
        if not (self.secret_key and self.content_key):
            raise ValueError("SECRET_KEY and CONTENT_KEY are required when APP_ENV=production")
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes when APP_ENV=production; "
                             "generate one with python -c \"import secrets; print(secrets.token_hex(32))\"")
        return self

    @model_validator(mode="after")
    def refuse_single_machine_production(self) -> Settings:
        """Production runs web and workers on machines that share no disk: nothing may live in one instance folder
        or one process."""
        if not self.is_production:
            return self
        missing = []
        if not self.database_url:
            missing.append("DATABASE_URL (the default SQLite file lives in one machine's instance folder)")
        if not self.redis_url:
            missing.append("REDIS_URL (the embedded Redis lives in one process)")
        if not self.key_store_url or urlsplit(self.key_store_url).scheme.lower() == "file":
            missing.append("KEY_STORE_URL to redis://... or postgresql://... (key files live on one machine's disk)")
        if missing:
            raise ValueError("APP_ENV=production runs on machines that share no disk: set " + ", ".join(missing))
        return self

    @model_validator(mode="after")
    def refuse_keys_beside_what_is_backed_up(self) -> Settings:
        """Production keeps the keys apart from the main database (its backups would hold them) and from the queue's
        Redis (no persistence, flushed, backed up with it)."""
        if not (self.is_production and self.key_store_url):
            return self
        scheme = urlsplit(self.key_store_url).scheme.lower()
        if scheme in POSTGRES_SCHEMES and self.database_url and is_same_place(self.key_store_url, self.database_url):
            raise ValueError("KEY_STORE_URL must name a database of its own, not DATABASE_URL's: the main database's "
                             "backups would hold the keys")
        queue = self.redis_url
        if scheme in REDIS_SCHEMES and queue and is_same_place(self.key_store_url, queue, server=True):
            raise ValueError("KEY_STORE_URL must name a Redis server of its own (persistence on, outside the backups), "
                             "not REDIS_URL's")
        return self

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    def public_url(self, path: str) -> str:
        """An absolute link under PUBLIC_BASE_URL (magic, login and export links, the privacy notice)."""
        return f"{self.public_base_url.rstrip('/')}/{path.lstrip('/')}"
