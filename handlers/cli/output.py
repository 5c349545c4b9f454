"""What the CLI commands share: times as text, and expected failures as one clean line."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
import requests
from flask.cli import ScriptInfo
from sqlalchemy.exc import DBAPIError, NoResultFound

from accounts import AccountError
from services import get_services
from store import StoreError
from store.db import is_schema_current
from whatsapp import GraphError, WhatsAppError

T = TypeVar("T")

NOT_MIGRATED = "the database is not migrated to this version: run `flask --app app db upgrade` first"
_GUARDED: set[Callable[..., Any]] = set()


def stamp(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def describe_whatsapp_failure(exc: Exception) -> str:
    """One line on a failed Cloud API call: missing or refused credentials, no connection, or Meta's error."""
    if isinstance(exc, GraphError) and (exc.status == 401 or exc.code == 190):
        return f"WhatsApp refused the access token: check WHATSAPP_TOKEN ({exc})"
    if isinstance(exc, requests.RequestException):
        return f"WhatsApp's API (WHATSAPP_API_BASE) is unreachable: {type(exc).__name__}"
    return str(exc)


def run_action(action: Callable[[], T]) -> T:
    """Run an action; expected failures become a clean CLI error (exit code 1)."""
    try:
        return action()
    except NoResultFound as exc:
        raise click.ClickException("no such tenant") from exc
    except (AccountError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc
    except (WhatsAppError, requests.RequestException) as exc:
        raise click.ClickException(describe_whatsapp_failure(exc)) from exc


def needs_schema(callback: Callable[..., T]) -> Callable[..., T]:
    """A command callback whose database errors on an unmigrated database become one line saying what to run."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return callback(*args, **kwargs)
        except DBAPIError as exc:
            app = click.get_current_context().ensure_object(ScriptInfo).load_app()
            try:
                current = is_schema_current(get_services(app).db.engine)
            except DBAPIError:
                raise exc from None
            if current:
                raise
            raise click.ClickException(NOT_MIGRATED) from exc

    _GUARDED.add(run)
    return run


def guard_schema(command: click.Command) -> None:
    """Give every command of a group (recursively) the unmigrated-database message; idempotent."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            guard_schema(sub)
    elif command.callback is not None and command.callback not in _GUARDED:
        command.callback = needs_schema(command.callback)
