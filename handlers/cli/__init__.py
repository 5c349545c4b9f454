"""Flask CLI (`flask --app app ...`): one module per command group, as rq/cli does."""
from __future__ import annotations

from flask import Flask

from handlers.cli import (
    audit,
    db,
    keys,
    serve,
    service,
    support_user,
    tenant,
    tenant_codes,
    tenant_privacy,
    whisper_model,
)
from handlers.cli.output import guard_schema

GROUPS = (db.group, tenant.group, support_user.group, audit.group, keys.group)
assert tenant_codes and tenant_privacy  # they add their commands to tenant.group


def register_commands(app: Flask) -> None:
    """Add every group, the service commands (worker, purge, serve) and whisper-model to the app's CLI."""
    for group in GROUPS:
        app.cli.add_command(group)
    for command in (*service.COMMANDS, serve.serve):
        app.cli.add_command(command)
    app.cli.add_command(whisper_model.command)
    for command in app.cli.commands.values():  # on an unmigrated database: one line saying to run `db upgrade`
        if command is not db.group:
            guard_schema(command)
