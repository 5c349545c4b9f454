"""`flask tenant send-code | verify | reset-code`: number verification on the tenant's behalf."""
from __future__ import annotations

import click

from accounts.console import reset_locked_challenge
from accounts.onboarding import check_code, send_code
from accounts.otp import VerifyOutcome
from accounts.tenants import check_new_number
from handlers.cli.output import run_action
from handlers.cli.tenant import group
from services import get_services
from store.audit import CLI_ACTOR
from workers.queue import enqueue_account_notices, enqueue_welcome

VERIFY_TEXTS = {
    VerifyOutcome.VERIFIED: "number verified",
    VerifyOutcome.WRONG: "wrong code: {remaining} attempt(s) left",
    VerifyOutcome.EXPIRED: "the code has expired: send a new one",
    VerifyOutcome.LOCKED: "locked after too many wrong codes: run `tenant reset-code` and send a new one",
    VerifyOutcome.NO_CHALLENGE: "no open code: send one first",
    VerifyOutcome.NUMBER_TAKEN: "the new number belongs to another tenant by now",
}


def send_tenant_code(tenant_id: int, phone: str | None) -> None:
    services = get_services()
    if phone:
        with services.db.session() as session:
            phone = check_new_number(session, services.cipher, tenant_id, phone, allow_same=True)
    send_code(services, tenant_id, CLI_ACTOR, phone)


@group.command("send-code")
@click.argument("tenant_id", type=int)
@click.option("--phone", default=None, help="send to a new number the tenant wants to switch to")
def tenant_send_code(tenant_id: int, phone: str | None) -> None:
    """Send (or resend) the verification code by WhatsApp."""
    run_action(lambda: send_tenant_code(tenant_id, phone))
    click.echo(f"code sent to tenant {tenant_id}; valid for 10 minutes")


@group.command("verify")
@click.argument("tenant_id", type=int)
@click.option("--code", required=True, help="the 6-digit code the tradesperson reads out")
def tenant_verify(tenant_id: int, code: str) -> None:
    """Enter a code on the tenant's behalf."""
    services = get_services()
    result = run_action(lambda: check_code(services, tenant_id, "".join(code.split()), CLI_ACTOR))
    if result.welcome_due:
        enqueue_welcome(services.queue, services.settings, tenant_id)
    enqueue_account_notices(services.queue, services.settings, result.notices)
    text = "new IBAN confirmed" if result.bank_changed else VERIFY_TEXTS[result.outcome].format(
        remaining=result.remaining)
    if result.outcome is not VerifyOutcome.VERIFIED:
        raise click.ClickException(text)
    click.echo(f"tenant {tenant_id}: {text}")


@group.command("reset-code")
@click.argument("tenant_id", type=int)
def tenant_reset_code(tenant_id: int) -> None:
    """Close a verification locked by wrong codes, so a new code can be sent."""
    with get_services().db.session() as session:
        reset = run_action(lambda: reset_locked_challenge(session, CLI_ACTOR, tenant_id))
    click.echo(f"tenant {tenant_id}: " + ("verification reset" if reset else "no locked verification"))
