"""Static pages: the privacy notice linked from the welcome message."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from services import get_services

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/datenschutz")
def privacy() -> str:
    lang = "en" if request.args.get("lang") == "en" else "de"
    return render_template("privacy.html", lang=lang, days=get_services().settings.retention_days)
