"""`flask db`: the database schema."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from services import get_services
from store.db import upgrade_database

group = AppGroup("db", help="Database schema.")


@group.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    services = get_services()
    upgrade_database(services.db.engine.url.render_as_string(hide_password=False), services.cipher)
    click.echo("database is up to date")
