"""Application factory: settings read once, blueprints and CLI registered, nothing connected."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFError

from handlers import (
    account,
    download,
    emulator,
    emulator_graph,
    export,
    health,
    pages,
    preview,
    support,
    support_privacy,
    support_tenants,
    webhook,
)
from handlers.cli import register_commands
from handlers.logfilter import install_token_filter
from handlers.security import csrf, refuse_expired_form
from services import Services
from settings import Settings
from store.crypto import generate_master_key

logger = logging.getLogger(__name__)

BLUEPRINTS = (health.bp, webhook.bp, download.bp, preview.bp, pages.bp, support.bp, account.bp, export.bp)
assert support_privacy and support_tenants  # they add their routes to support.bp
EMULATOR_BLUEPRINTS = (emulator.bp, emulator_graph.bp)  # development only: EMULATOR=1, never in production


class ConfigError(Exception):
    """A required setting is missing or invalid."""


def load_dev_secrets(instance_path: Path) -> dict[str, str]:
    """Development only: keep generated keys in the instance folder so restarts can read old content."""
    path = instance_path / "dev-secrets.json"
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    data = {"secret_key": secrets.token_hex(32), "content_key": generate_master_key()}
    os.makedirs(instance_path, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    logger.warning("development keys generated in the instance folder; set SECRET_KEY and CONTENT_KEY in production")
    return data


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides environment settings (tests hand in their own)."""
    app = Flask(__name__, instance_path=(config or {}).get("instance_path") or None,
                instance_relative_config=True)
    overrides = {k: v for k, v in (config or {}).items() if k != "instance_path"}
    settings = Settings(**overrides)
    instance = Path(app.instance_path)
    if settings.emulator and settings.is_production:
        raise ConfigError("EMULATOR=1 is a development tool and is refused when APP_ENV=production")
    secret_key, content_key = settings.secret_key, settings.content_key
    if not (secret_key and content_key):
        if settings.is_production:
            raise ConfigError("SECRET_KEY and CONTENT_KEY are required when APP_ENV=production")
        dev = load_dev_secrets(instance)
        secret_key, content_key = secret_key or dev["secret_key"], content_key or dev["content_key"]
    app.config.update(SECRET_KEY=secret_key, MAX_CONTENT_LENGTH=3 * 1024 * 1024 + 65536,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https"),
                      PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8),
                      # form tokens live as long as the session; no Referer check (our pages send none)
                      WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=False)
    csrf.init_app(app)  # also gives templates csrf_token()
    app.register_error_handler(CSRFError, refuse_expired_form)
    app.extensions["services"] = Services(settings, instance, content_key)

    install_token_filter()
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    for blueprint in EMULATOR_BLUEPRINTS if settings.emulator else ():
        app.register_blueprint(blueprint)
    register_commands(app)
    return app
