"""Placeholder: replaced by the account blueprint."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("account", __name__, template_folder="templates")
