"""Placeholder: support CLI commands."""
from __future__ import annotations

from flask import Flask


def register_support_commands(app: Flask) -> None:
    """Register support-user and tenant management commands."""
