"""What the CLI commands share: times as text, and expected failures as one clean line."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import NoResultFound

from accounts import AccountError
from store import StoreError
from whatsapp import GraphError

T = TypeVar("T")


def stamp(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def run_action(action: Callable[[], T]) -> T:
    """Run an action; expected failures become a clean CLI error (exit code 1)."""
    try:
        return action()
    except NoResultFound as exc:
        raise click.ClickException("no such tenant") from exc
    except (AccountError, StoreError, GraphError) as exc:
        raise click.ClickException(str(exc)) from exc
