"""`flask audit`: the support audit log."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from accounts.console import list_audit
from handlers.cli.output import stamp
from services import get_services

group = AppGroup("audit", help="The support audit log.")


@group.command("list")
@click.option("--tenant", "tenant_id", type=int, default=None)
@click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True)
def audit_list(tenant_id: int | None, limit: int) -> None:
    """Audit entries, newest first."""
    with get_services().db.session() as session:
        entries = list_audit(session, tenant_id, limit)
    for e in entries:
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
        click.echo(f"{stamp(e.created_at)}  {e.actor:<30}  {e.action:<16}  tenant={e.tenant_id or '-'}  {detail}")
