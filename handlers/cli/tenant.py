"""`flask tenant`: register tradespeople, list, edit, disable and enable them, show their message metadata.

The price list commands (`flask tenant prices ...`) are handlers/cli/tenant_prices.py, added here.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
from flask.cli import AppGroup

from accounts.archive import ArchiveAddressInvalid, read_archive_addresses, save_archive_addresses
from accounts.banking import mask_iban
from accounts.console import list_tenants, recent_messages, set_auto_issue, set_tenant_active, update_tenant
from accounts.onboarding import request_bank_change
from accounts.profiles import ProfileInvalid, read_new_profile
from accounts.tenants import add_tenant
from handlers.cli.output import run_action, stamp
from handlers.cli.tenant_prices import group as prices_group
from services import get_services
from store.audit import CLI_ACTOR, record_audit
from workers.queue import enqueue_account_notices

group = AppGroup("tenant", help="Manage tenants (tradespeople).")
group.add_command(prices_group)


def create_tenant(phone: str, profile: dict[str, Any], verified: bool, auto_issue: bool, archive: list[str]) -> int:
    services = get_services()
    with services.db.session() as session:
        tenant = add_tenant(session, services.cipher, phone, **profile, verified=verified, auto_issue=auto_issue)
        record_audit(session, CLI_ACTOR, "tenant_created", tenant.id, verified=verified, auto_issue=auto_issue)
        save_archive_addresses(session, CLI_ACTOR, tenant.id, archive)
        return tenant.id


def read_archive_option(values: tuple[str, ...]) -> list[str]:
    """--archive-email, repeatable; a bad one is a usage error and nothing is changed."""
    try:
        return read_archive_addresses(values)
    except ArchiveAddressInvalid as exc:
        raise click.BadParameter(f"not an e-mail address: {exc.address}" if exc.address else str(exc),
                                 param_hint="'--archive-email'") from exc


def edit_tenant(tenant_id: int, fields: dict[str, Any], auto_issue: bool | None,
                archive: list[str] | None) -> tuple[list[str], str | None]:
    """The profile fields given, then the auto-issue setting and the archive addresses when given; one transaction,
    names what changed. A new IBAN of a verified tenant waits for the code then sent to its number: returned
    masked."""
    services = get_services()
    with services.db.session() as session:
        changed, held = update_tenant(session, CLI_ACTOR, tenant_id,
                                      {k: v for k, v in fields.items() if v is not None})
        if auto_issue is not None and set_auto_issue(session, CLI_ACTOR, tenant_id, auto_issue):
            changed.append("auto_issue")
        if archive is not None and save_archive_addresses(session, CLI_ACTOR, tenant_id, archive):
            changed.append("archive_email")
    if held is None:
        return changed, None
    notice = request_bank_change(services, tenant_id, CLI_ACTOR, held)
    enqueue_account_notices(services.queue, services.settings, [notice])
    return changed, mask_iban(held.bank.iban)


def toggle_tenant(tenant_id: int, active: bool) -> bool:
    with get_services().db.session() as session:
        return set_tenant_active(session, CLI_ACTOR, tenant_id, active)


@group.command("add")
@click.option("--phone", required=True, help="WhatsApp number, E.164 (+49...)")
@click.option("--company", required=True)
@click.option("--street", required=True)
@click.option("--postal-code", required=True)
@click.option("--city", required=True)
@click.option("--tax-number", default=None)
@click.option("--vat-id", default=None)
@click.option("--iban", required=True)
@click.option("--bic", default=None)
@click.option("--email", required=True)
@click.option("--business-phone", default=None, help="printed on invoices; XRechnung needs it")
@click.option("--hourly-rate", type=Decimal, default=None)
@click.option("--vat-rate", type=Decimal, default=Decimal(19), show_default=True)
@click.option("--payment-terms", "payment_terms_days", type=int, default=14, show_default=True)
@click.option("--language", type=click.Choice(["de", "en"]), default="de", show_default=True)
@click.option("--small-business/--no-small-business", default=False, help="§19 UStG Kleinunternehmer")
@click.option("--verified", is_flag=True, help="mark the number as verified (skip the OTP)")
@click.option("--auto-issue/--no-auto-issue", default=False, show_default=True,
              help="issue invoices at once, without showing a draft first")
@click.option("--archive-email", "archive_emails", multiple=True,
              help="archive address: every issued invoice is e-mailed there (repeatable)")
def tenant_add(phone: str, auto_issue: bool, archive_emails: tuple[str, ...], **profile: object) -> None:
    """Register a tradesperson's business."""
    try:
        clean = read_new_profile(profile)
    except ProfileInvalid as exc:  # nothing was created
        options = {param.name: param.opts[0] for param in click.get_current_context().command.params}
        hint = " / ".join(f"'{options.get(name, name)}'" for name in exc.errors)
        raise click.BadParameter(str(exc), param_hint=hint) from exc
    archive = read_archive_option(archive_emails)
    verified = bool(profile.get("verified"))
    tenant_id = run_action(lambda: create_tenant(phone, clean, verified, auto_issue, archive))
    notes = [note for note, on in (("verified", verified), ("issues at once, no draft", auto_issue)) if on]
    click.echo(f"tenant {tenant_id} created" + (f" ({', '.join(notes)})" if notes else ""))


@group.command("list")
def tenant_list() -> None:
    """Tenants with verification state and last activity."""
    with get_services().db.session() as session:
        rows = list_tenants(session)
    for row in rows:
        state = ("verified" if row.verified else "unverified") + ("" if row.active else ", disabled")
        click.echo(f"{row.id:>5}  {row.company[:40]:<40}  {state:<22}  last activity {stamp(row.last_activity)}")


@group.command("edit")
@click.argument("tenant_id", type=int)
@click.option("--company")
@click.option("--street")
@click.option("--postal-code")
@click.option("--city")
@click.option("--tax-number")
@click.option("--vat-id")
@click.option("--iban")
@click.option("--bic")
@click.option("--email")
@click.option("--business-phone")
@click.option("--hourly-rate")
@click.option("--vat-rate")
@click.option("--payment-terms", "payment_terms_days")
@click.option("--language", type=click.Choice(["de", "en"]))
@click.option("--small-business/--no-small-business", default=None)
@click.option("--auto-issue/--no-auto-issue", default=None, help="issue invoices at once, without a draft")
@click.option("--archive-email", "archive_emails", multiple=True,
              help="archive address (repeatable): the given ones replace all; '' removes all")
def tenant_edit(tenant_id: int, auto_issue: bool | None, archive_emails: tuple[str, ...], **fields: Any) -> None:
    """Change profile fields (give only those to change; '' clears an optional one)."""
    if auto_issue is None and not archive_emails and all(v is None for v in fields.values()):
        raise click.UsageError("give at least one field to change")
    archive = read_archive_option(archive_emails) if archive_emails else None
    changed, pending_iban = run_action(lambda: edit_tenant(tenant_id, fields, auto_issue, archive))
    click.echo(f"tenant {tenant_id}: " + (f"changed {', '.join(changed)}" if changed else "nothing changed"))
    if pending_iban:
        click.echo(f"the new IBAN {pending_iban} applies once confirmed: a code went to the tenant's WhatsApp number "
                   f"(typed into the chat, or `flask tenant verify {tenant_id} --code C`)")


@group.command("disable")
@click.argument("tenant_id", type=int)
def tenant_disable(tenant_id: int) -> None:
    """Disable the number: its messages are no longer processed."""
    changed = run_action(lambda: toggle_tenant(tenant_id, False))
    click.echo(f"tenant {tenant_id}: " + ("disabled" if changed else "was already disabled"))


@group.command("enable")
@click.argument("tenant_id", type=int)
def tenant_enable(tenant_id: int) -> None:
    """Enable the number again."""
    changed = run_action(lambda: toggle_tenant(tenant_id, True))
    click.echo(f"tenant {tenant_id}: " + ("enabled" if changed else "was already enabled"))


@group.command("messages")
@click.argument("tenant_id", type=int)
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def tenant_messages(tenant_id: int, limit: int) -> None:
    """Recent messages of a tenant: metadata only (time, kind, state, outcome, error code)."""
    with get_services().db.session() as session:
        rows = recent_messages(session, tenant_id, limit)
    for m in rows:
        click.echo(f"{stamp(m.received_at)}  {m.kind:<6}  {m.state:<10}  {m.outcome or '-':<20}  "
                   f"{m.error_code or '-'}  attempts={m.attempts}")
