"""Application factory: settings read once, blueprints and CLI registered, nothing connected."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import click
import dotenv
from flask import Flask
from flask.helpers import get_load_dotenv
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError
from werkzeug.middleware.proxy_fix import ProxyFix

from handlers import (
    account,
    account_archive,
    account_changes,
    account_settings,
    download,
    emulator,
    emulator_graph,
    emulator_media,
    export,
    health,
    pages,
    preview,
    support,
    support_archive,
    support_codes,
    support_privacy,
    support_settings,
    support_tenants,
    webhook,
)
from handlers.cli import register_commands
from handlers.logfilter import install_token_filter
from handlers.security import add_production_headers, csrf, refuse_expired_form
from services import Services
from settings import Settings
from store.crypto import generate_master_key

logger = logging.getLogger(__name__)

BLUEPRINTS = (health.bp, webhook.bp, download.bp, preview.bp, pages.bp, support.bp, account.bp, account_archive.bp,
              export.bp)
# these modules add their routes to support.bp and account.bp
assert support_archive and support_codes and support_privacy and support_settings and support_tenants
assert account_changes and account_settings and emulator_media
EMULATOR_BLUEPRINTS = (emulator.bp, emulator_graph.bp)  # development only: EMULATOR=1, never in production


class ConfigError(click.ClickException):
    """A required setting is missing or invalid (a ClickException: the flask command shows it as one line)."""


def read_settings(overrides: dict[str, Any]) -> Settings:
    """The environment's settings (and the overrides); invalid ones are refused in one line naming the variables."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = [(f"{'.'.join(map(str, e['loc'])).upper()}: " if e["loc"] else "") + e["msg"].removeprefix(
            "Value error, ") for e in exc.errors(include_url=False, include_input=False)]
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None


def refuse_dotenv_in_production(settings: Settings) -> None:
    """`.env` is for development: the flask command loads it (python-dotenv, variables already set win) before
    the app exists, so in production refuse to start on one rather than run on a file."""
    if not (settings.is_production and os.environ.get("FLASK_RUN_FROM_CLI") == "true" and get_load_dotenv()):
        return
    for name in (".env", ".flaskenv"):
        if found := dotenv.find_dotenv(name, usecwd=True):
            raise ConfigError(f"APP_ENV=production takes its settings from the environment only, but the flask "
                              f"command loaded {found}: remove it, or set FLASK_SKIP_DOTENV=1")


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
    app = Flask(__name__, instance_path=(config or {}).get("instance_path") or os.environ.get("INSTANCE_PATH") or None,
                instance_relative_config=True)
    overrides = {k: v for k, v in (config or {}).items() if k != "instance_path"}
    settings = read_settings(overrides)
    refuse_dotenv_in_production(settings)
    instance = Path(app.instance_path)
    if settings.emulator and settings.is_production:
        raise ConfigError("EMULATOR=1 is a development tool and is refused when APP_ENV=production")
    secret_key, content_key = settings.secret_key, settings.content_key
    if not (secret_key and content_key):  # development (Settings refuses production without them)
        dev = load_dev_secrets(instance)
        secret_key, content_key = secret_key or dev["secret_key"], content_key or dev["content_key"]
    app.config.update(SECRET_KEY=secret_key, MAX_CONTENT_LENGTH=3 * 1024 * 1024 + 65536,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https"),
                      PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8),
                      # form tokens live as long as the session; no Referer check (our pages send none)
                      WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=False)
    if settings.proxy_hops:  # the client address the support login throttle counts by (accounts/staff_throttle)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)  # type: ignore[method-assign]
    csrf.init_app(app)  # also gives templates csrf_token()
    app.register_error_handler(CSRFError, refuse_expired_form)
    app.extensions["services"] = Services(settings, instance, content_key)

    install_token_filter()
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    for blueprint in EMULATOR_BLUEPRINTS if settings.emulator else ():
        app.register_blueprint(blueprint)
    if settings.is_production:  # HSTS and nosniff on every response (handlers/security.py)
        app.after_request(add_production_headers)
    register_commands(app)
    return app
