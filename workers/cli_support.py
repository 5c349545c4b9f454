"""Flask CLI for support: staff accounts, and the console's tenant actions (audited with actor 'cli')."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import segno
from flask import Flask
from sqlalchemy.exc import NoResultFound

from services import get_services
from store import StoreError
from store.audit import CLI_ACTOR
from store.console import (
    list_audit,
    list_tenants,
    recent_messages,
    reset_locked_challenge,
    set_tenant_active,
    update_tenant,
)
from store.otp import VerifyOutcome
from store.staff import create_staff
from store.tenants import check_new_number
from whatsapp import GraphError
from workers.onboarding import check_code, send_code

logger = logging.getLogger(__name__)

VERIFY_TEXTS = {
    VerifyOutcome.VERIFIED: "number verified",
    VerifyOutcome.WRONG: "wrong code: {remaining} attempt(s) left",
    VerifyOutcome.EXPIRED: "the code has expired: send a new one",
    VerifyOutcome.LOCKED: "locked after too many wrong codes: run `tenant reset-code` and send a new one",
    VerifyOutcome.NO_CHALLENGE: "no open code: send one first",
    VerifyOutcome.NUMBER_TAKEN: "the new number belongs to another tenant by now",
}


def stamp(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def run_action(action: Callable[[], Any]) -> Any:
    """Run a console action; expected failures become a clean CLI error (exit code 1)."""
    try:
        return action()
    except NoResultFound as exc:
        raise click.ClickException("no such tenant") from exc
    except (StoreError, GraphError) as exc:
        raise click.ClickException(str(exc)) from exc


def add_support_user(email: str, name: str, password: str, qr_file: Path | None) -> None:
    services = get_services()
    with services.db.session() as session:
        enrolment = create_staff(session, services.cipher, email, name, password)
    click.echo(f"staff user {enrolment.staff_id} created")
    click.echo("Add this to the authenticator app now; it is shown only once:")
    click.echo(enrolment.uri)
    if qr_file is not None:
        segno.make(enrolment.uri, error="m").save(str(qr_file), kind="svg", scale=4)
        qr_file.chmod(0o600)
        click.echo(f"QR code written to {qr_file} (delete it after scanning)")


def edit_tenant(tenant_id: int, fields: dict[str, Any]) -> list[str]:
    with get_services().db.session() as session:
        return update_tenant(session, CLI_ACTOR, tenant_id, {k: v for k, v in fields.items() if v is not None})


def send_tenant_code(tenant_id: int, phone: str | None) -> None:
    services = get_services()
    if phone:
        with services.db.session() as session:
            phone = check_new_number(session, services.cipher, tenant_id, phone, allow_same=True)
    send_code(services, tenant_id, CLI_ACTOR, phone)


def toggle_tenant(tenant_id: int, active: bool) -> bool:
    with get_services().db.session() as session:
        return set_tenant_active(session, CLI_ACTOR, tenant_id, active)


def register_support_commands(app: Flask) -> None:
    """Register support-user and tenant management commands."""

    @app.cli.group("support-user")
    def support_user_group() -> None:
        """Support staff accounts."""

    @support_user_group.command("add")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                  help="at least 12 characters; prompted when not given")
    @click.option("--qr-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="write the TOTP enrolment QR code as SVG")
    def support_user_add(email: str, name: str, password: str, qr_file: Path | None) -> None:
        """Create a staff account and show its TOTP enrolment once."""
        run_action(lambda: add_support_user(email, name, password, qr_file))

    tenant_group = app.cli.commands["tenant"]
    assert isinstance(tenant_group, click.Group)

    @tenant_group.command("list")
    def tenant_list() -> None:
        """Tenants with verification state and last activity."""
        with get_services().db.session() as session:
            rows = list_tenants(session)
        for row in rows:
            state = ("verified" if row.verified else "unverified") + ("" if row.active else ", disabled")
            click.echo(f"{row.id:>5}  {row.company[:40]:<40}  {state:<22}  last activity {stamp(row.last_activity)}")

    @tenant_group.command("edit")
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
    def tenant_edit(tenant_id: int, **fields: Any) -> None:
        """Change profile fields (give only those to change; '' clears an optional one)."""
        if all(v is None for v in fields.values()):
            raise click.UsageError("give at least one field to change")
        changed = run_action(lambda: edit_tenant(tenant_id, fields))
        click.echo(f"tenant {tenant_id}: " + (f"changed {', '.join(changed)}" if changed else "nothing changed"))

    @tenant_group.command("send-code")
    @click.argument("tenant_id", type=int)
    @click.option("--phone", default=None, help="send to a new number the tenant wants to switch to")
    def tenant_send_code(tenant_id: int, phone: str | None) -> None:
        """Send (or resend) the verification code by WhatsApp."""
        run_action(lambda: send_tenant_code(tenant_id, phone))
        click.echo(f"code sent to tenant {tenant_id}; valid for 10 minutes")

    @tenant_group.command("verify")
    @click.argument("tenant_id", type=int)
    @click.option("--code", required=True, help="the 6-digit code the tradesperson reads out")
    def tenant_verify(tenant_id: int, code: str) -> None:
        """Enter a code on the tenant's behalf."""
        result = run_action(lambda: check_code(get_services(), tenant_id, "".join(code.split()), CLI_ACTOR))
        text = VERIFY_TEXTS[result.outcome].format(remaining=result.remaining)
        if result.outcome is not VerifyOutcome.VERIFIED:
            raise click.ClickException(text)
        click.echo(f"tenant {tenant_id}: {text}")

    @tenant_group.command("reset-code")
    @click.argument("tenant_id", type=int)
    def tenant_reset_code(tenant_id: int) -> None:
        """Close a verification locked by wrong codes, so a new code can be sent."""
        with get_services().db.session() as session:
            reset = run_action(lambda: reset_locked_challenge(session, CLI_ACTOR, tenant_id))
        click.echo(f"tenant {tenant_id}: " + ("verification reset" if reset else "no locked verification"))

    @tenant_group.command("disable")
    @click.argument("tenant_id", type=int)
    def tenant_disable(tenant_id: int) -> None:
        """Disable the number: its messages are no longer processed."""
        changed = run_action(lambda: toggle_tenant(tenant_id, False))
        click.echo(f"tenant {tenant_id}: " + ("disabled" if changed else "was already disabled"))

    @tenant_group.command("enable")
    @click.argument("tenant_id", type=int)
    def tenant_enable(tenant_id: int) -> None:
        """Enable the number again."""
        changed = run_action(lambda: toggle_tenant(tenant_id, True))
        click.echo(f"tenant {tenant_id}: " + ("enabled" if changed else "was already enabled"))

    @tenant_group.command("messages")
    @click.argument("tenant_id", type=int)
    @click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
    def tenant_messages(tenant_id: int, limit: int) -> None:
        """Recent messages of a tenant: metadata only (time, kind, state, outcome, error code)."""
        with get_services().db.session() as session:
            rows = recent_messages(session, tenant_id, limit)
        for m in rows:
            click.echo(f"{stamp(m.received_at)}  {m.kind:<6}  {m.state:<10}  {m.outcome or '-':<20}  "
                       f"{m.error_code or '-'}  attempts={m.attempts}")

    @app.cli.group("audit")
    def audit_group() -> None:
        """The support audit log."""

    @audit_group.command("list")
    @click.option("--tenant", "tenant_id", type=int, default=None)
    @click.option("--limit", type=click.IntRange(1, 10000), default=200, show_default=True)
    def audit_list(tenant_id: int | None, limit: int) -> None:
        """Audit entries, newest first."""
        with get_services().db.session() as session:
            entries = list_audit(session, tenant_id, limit)
        for e in entries:
            detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
            click.echo(f"{stamp(e.created_at)}  {e.actor:<30}  {e.action:<16}  tenant={e.tenant_id or '-'}  {detail}")
