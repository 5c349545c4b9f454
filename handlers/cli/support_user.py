"""`flask support-user`: support staff accounts."""
from __future__ import annotations

from pathlib import Path

import click
import segno
from flask.cli import AppGroup

from accounts.staff import create_staff
from handlers.cli.output import run_action
from services import get_services

group = AppGroup("support-user", help="Support staff accounts.")


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


@group.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="at least 12 characters; prompted when not given")
@click.option("--qr-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the TOTP enrolment QR code as SVG")
def support_user_add(email: str, name: str, password: str, qr_file: Path | None) -> None:
    """Create a staff account and show its TOTP enrolment once."""
    run_action(lambda: add_support_user(email, name, password, qr_file))
