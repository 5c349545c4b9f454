"""Placeholder: replaced by the support blueprint."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("support", __name__, template_folder="templates")
