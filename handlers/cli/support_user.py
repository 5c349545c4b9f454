"""`flask support-user`: support staff accounts (add, list, disable, enable, reset-password, reset-totp).

Every change is audited with the actor "cli"; secrets (a new password, a new TOTP URI) are printed once and
never logged or audited.
"""
from __future__ import annotations

from pathlib import Path

import click
import segno
from flask.cli import AppGroup

from accounts.staff import Enrolment, create_staff
from accounts.staff_admin import generate_password, list_staff, reset_password, reset_totp, set_staff_active
from handlers.cli.output import run_action, stamp
from services import get_services

group = AppGroup("support-user", help="Support staff accounts.")


def show_enrolment(enrolment: Enrolment, qr_file: Path | None) -> None:
    click.echo("Add this to the authenticator app now; it is shown only once:")
    click.echo(enrolment.uri)
    if qr_file is not None:
        segno.make(enrolment.uri, error="m").save(str(qr_file), kind="svg", scale=4)
        qr_file.chmod(0o600)
        click.echo(f"QR code written to {qr_file} (delete it after scanning)")


def add_support_user(email: str, name: str, password: str, qr_file: Path | None) -> None:
    services = get_services()
    with services.db.session() as session:
        enrolment = create_staff(session, services.cipher, email, name, password)
    click.echo(f"staff user {enrolment.staff_id} created")
    show_enrolment(enrolment, qr_file)


QR_FILE = click.option("--qr-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                       help="write the TOTP enrolment QR code as SVG")


@group.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="at least 12 characters; prompted when not given")
@QR_FILE
def support_user_add(email: str, name: str, password: str, qr_file: Path | None) -> None:
    """Create a staff account and show its TOTP enrolment once."""
    run_action(lambda: add_support_user(email, name, password, qr_file))


@group.command("list")
def support_user_list() -> None:
    """Every staff account: e-mail, name, active or disabled, throttled, created. No secrets."""
    services = get_services()
    with services.db.session() as session:
        rows = list_staff(session, services.cipher)
    for row in rows:
        throttled = f"throttled until {row.throttled_until:%H:%M} UTC" if row.throttled_until else "-"
        click.echo(f"{row.email:<32} {row.name:<24} {'active' if row.active else 'disabled':<9} {throttled:<26} "
                   f"{stamp(row.created_at)}")


def change_active(email: str, active: bool) -> None:
    with get_services().db.session() as session:
        address, changed = set_staff_active(session, email, active)
    state = "enabled" if active else "disabled, every session ended"
    click.echo(f"{address}: {state}" if changed else f"{address} was already {state.split(',')[0]}")


@group.command("disable")
@click.argument("email")
def support_user_disable(email: str) -> None:
    """Disable a staff account: its sessions end at once and it cannot log in until enabled."""
    run_action(lambda: change_active(email, False))


@group.command("enable")
@click.argument("email")
def support_user_enable(email: str) -> None:
    """Enable a disabled staff account again."""
    run_action(lambda: change_active(email, True))


def change_password(email: str, password: str | None) -> None:
    services = get_services()
    new = password or generate_password()
    with services.db.session() as session:
        address = reset_password(session, services.cipher, email, new)
    click.echo(f"{address}: password reset, every session ended")
    if password is None:
        click.echo("The new password, shown only once (hand it over on a separate channel):")
        click.echo(new)


@group.command("reset-password")
@click.argument("email")
@click.option("--generate", is_flag=True, help="generate a random password and print it once instead of prompting")
def support_user_reset_password(email: str, generate: bool) -> None:
    """Set a new password (prompted, or generated with --generate); the account's sessions end."""
    password = None if generate else click.prompt("New password", hide_input=True, confirmation_prompt=True)
    run_action(lambda: change_password(email, password))


def change_totp(email: str, qr_file: Path | None) -> None:
    services = get_services()
    with services.db.session() as session:
        enrolment = reset_totp(session, services.cipher, email)
    click.echo(f"staff user {enrolment.staff_id}: new TOTP secret, the old codes no longer work, every session ended")
    show_enrolment(enrolment, qr_file)


@group.command("reset-totp")
@click.argument("email")
@QR_FILE
def support_user_reset_totp(email: str, qr_file: Path | None) -> None:
    """Replace the TOTP secret (a lost phone) and show the new enrolment once; the account's sessions end."""
    run_action(lambda: change_totp(email, qr_file))
