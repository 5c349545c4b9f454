"""`flask tenant delete-content | offboard | receipts`: the console's deletion actions, with receipts."""
from __future__ import annotations

import click

from handlers.cli.tenant import group
from services import get_services
from store.audit import CLI_ACTOR
from store.erasure import list_receipts
from store.models import DeletionReceipt, Tenant
from store.privacy import erase_content, offboard


def describe_receipt(receipt: DeletionReceipt) -> str:
    counts = " ".join(f"{name}={count}" for name, count in receipt.categories.items())
    return f"{receipt.created_at:%Y-%m-%d %H:%M} UTC  {receipt.id}  {receipt.trigger.value:<11}  {counts}"


def find_tenant_or_fail(tenant_id: int) -> Tenant:
    with get_services().db.session() as session:
        tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise click.ClickException(f"no tenant {tenant_id}")
    return tenant


@group.command("delete-content")
@click.argument("tenant_id", type=int)
@click.option("--yes", is_flag=True, required=True, help="confirm: all invoice content is deleted for good")
def tenant_delete_content(tenant_id: int, yes: bool) -> None:
    """Delete all of a tenant's content now (invoices not yet downloaded, unprocessed texts)."""
    find_tenant_or_fail(tenant_id)
    services = get_services()
    receipt = erase_content(services.db, services.cipher, tenant_id, CLI_ACTOR)
    click.echo(f"tenant {tenant_id}: content deleted, receipt {receipt.id}")


@group.command("offboard")
@click.argument("tenant_id", type=int)
@click.option("--confirm", "confirm_id", type=int, required=True, help="repeat the tenant id")
def tenant_offboard(tenant_id: int, confirm_id: int) -> None:
    """Offboard: delete all content and personal data of the tenant, the number included."""
    if confirm_id != tenant_id:
        raise click.UsageError("--confirm must repeat the tenant id")
    if find_tenant_or_fail(tenant_id).offboarded_at is not None:
        raise click.ClickException(f"tenant {tenant_id} was offboarded already")
    services = get_services()
    receipt = offboard(services.db, services.cipher, tenant_id, CLI_ACTOR)
    click.echo(f"tenant {tenant_id}: offboarded, receipt {receipt.id}")


@group.command("receipts")
@click.argument("tenant_id", type=int)
def tenant_receipts(tenant_id: int) -> None:
    """The tenant's deletion receipts, newest first."""
    find_tenant_or_fail(tenant_id)
    with get_services().db.session() as session:
        for receipt in list_receipts(session, tenant_id):
            click.echo(describe_receipt(receipt))
