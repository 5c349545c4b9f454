"""Static pages: the landing page, the privacy notice linked from the welcome message."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from services import get_services

bp = Blueprint("pages", __name__, template_folder="templates")


@bp.get("/datenschutz")
def privacy() -> str:
    lang = "en" if request.args.get("lang") == "en" else "de"
    return render_template("privacy.html", lang=lang, days=get_services().settings.retention_days)


@bp.get("/")
def landing() -> str:
    """What the product does, and where to go: the emulator (when this app serves it), support, privacy."""
    emulator = any(rule.rule.rstrip("/") == "/emulator" for rule in current_app.url_map.iter_rules())
    return render_template("landing.html", lang="de", emulator=emulator)
