"""The support CLI: staff enrolment and the console's tenant actions, as an operator runs them."""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from services import get_services
from store.models import StaffUser, Tenant
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    TENANT_PHONE,
    SendText,
    Staff,
    enrol_staff,
    logged_in,
    read_csrf,
    sent_code,
    staff_log_in,
)


def run(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_support_user_add_shows_the_totp_enrolment_once_and_the_account_works(
        app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    qr = tmp_path / "anna.svg"
    password = "ein-langes-geheimes-Passwort"
    result = run(app, "support-user", "add", "--email", "Anna@Support.example", "--name", "Anna Admin",
                 "--qr-file", str(qr), input=f"{password}\n{password}\n")  # prompted twice
    assert result.exit_code == 0, result.output
    assert re.search(r"staff user \d+ created", result.output) and f"QR code written to {qr}" in result.output
    uri = next(line for line in result.output.splitlines() if line.startswith("otpauth://totp/"))
    query = parse_qs(urlparse(uri).query)
    assert query["issuer"] == ["Sprachrechnung Support"] and "anna%40support.example" in uri.lower()
    svg = qr.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and oct(qr.stat().st_mode)[-3:] == "600"
    staff = Staff("anna@support.example", password, query["secret"][0])
    assert staff_log_in(client, staff).status_code == 302 and logged_in(client)
    assert pyotp.TOTP(staff.secret).now() not in run(app, "audit", "list").output  # the secret is never logged


def test_support_user_add_refuses_short_passwords_and_duplicates(app: Flask) -> None:
    result = run(app, "support-user", "add", "--email", "a@b.de", "--name", "A", "--password", "kurz")
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    assert run(app, "support-user", "add", "--email", "a@b.de", "--name", "A", "--password", "x" * 12).exit_code == 0
    result = run(app, "support-user", "add", "--email", "A@B.de", "--name", "A", "--password", "y" * 12)
    assert result.exit_code == 1 and "exists already" in result.output


def test_send_code_and_verify_by_cli(app: Flask, unverified: int, whatsapp_fake: FakeWhatsApp) -> None:
    result = run(app, "tenant", "send-code", str(unverified))
    assert result.exit_code == 0 and "code sent" in result.output
    code = sent_code(whatsapp_fake, TENANT_PHONE)
    wrong = "000000" if code != "000000" else "111111"
    result = run(app, "tenant", "verify", str(unverified), "--code", wrong)
    assert result.exit_code == 1 and "wrong code: 4 attempt(s) left" in result.output
    assert "unverified" in run(app, "tenant", "list").output
    result = run(app, "tenant", "verify", str(unverified), "--code", code)
    assert result.exit_code == 0 and "number verified" in result.output
    listing = run(app, "tenant", "list").output
    assert "Elektro Meier GmbH" in listing and " verified " in listing
    audit = run(app, "audit", "list", "--tenant", str(unverified)).output.splitlines()
    assert [line.split()[4] for line in audit] == ["code_entered", "code_entered", "code_sent", "tenant_created"]
    assert all(line.split()[3] == "cli" for line in audit) and "outcome=verified" in audit[0]


def test_send_code_limits_and_unknown_tenant(app: Flask, unverified: int, whatsapp_fake: FakeWhatsApp) -> None:
    for _ in range(3):
        assert run(app, "tenant", "send-code", str(unverified)).exit_code == 0
    result = run(app, "tenant", "send-code", str(unverified))
    assert result.exit_code == 1 and "at most 3 codes" in result.output and len(whatsapp_fake.sent) == 3
    result = run(app, "tenant", "send-code", "999")
    assert result.exit_code == 1 and "no such tenant" in result.output
    result = run(app, "tenant", "send-code", str(unverified), "--phone", "12")
    assert result.exit_code == 1 and "not a valid phone number" in result.output


def test_disable_and_enable_by_cli(app: Flask, tenant: int) -> None:
    assert "disabled" in run(app, "tenant", "disable", str(tenant)).output
    assert "verified, disabled" in run(app, "tenant", "list").output
    assert "was already disabled" in run(app, "tenant", "disable", str(tenant)).output
    assert f"tenant {tenant}: enabled" in run(app, "tenant", "enable", str(tenant)).output
    assert "disabled" not in run(app, "tenant", "list").output
    audit = run(app, "audit", "list").output
    assert audit.index("tenant_enabled") < audit.index("tenant_disabled")  # newest first


def test_edit_by_cli_validates_and_audits(app: Flask, tenant: int) -> None:
    result = run(app, "tenant", "edit", str(tenant), "--hourly-rate", "72,50", "--city", "Köln")
    assert result.exit_code == 0 and f"tenant {tenant}: changed hourly_rate" in result.output
    result = run(app, "tenant", "edit", str(tenant), "--iban", "DE00", "--email", "nope")
    assert result.exit_code == 1 and "IBAN is not valid" in result.output and "email is not valid" in result.output
    result = run(app, "tenant", "edit", str(tenant), "--tax-number", "")
    assert result.exit_code == 1 and "tax number (or VAT id) is missing" in result.output  # no VAT id either
    assert "fields=['hourly_rate']" in run(app, "audit", "list").output
    result = run(app, "tenant", "edit", str(tenant), "--business-phone", "0221 12")
    assert result.exit_code == 0 and "changed business_phone" in result.output  # what XRechnung needs (BT-42)
    result = run(app, "tenant", "edit", str(tenant), "--business-phone", "call me")
    assert result.exit_code == 1 and "business phone is not valid" in result.output
    args = ["tenant", "add", "--phone", "+4917699887766", "--company", "B", "--street", "S 1", "--postal-code",
            "50667", "--city", "Köln", "--tax-number", "217/5937/0123", "--iban", "DE89370400440532013000",
            "--email", "b@example.de", "--business-phone", "call me"]
    result = run(app, *args)
    assert result.exit_code == 2 and "business phone is not valid" in result.output  # nothing created
    assert "'--business-phone'" in result.output
    with get_services(app).db.session() as session:
        assert session.scalars(select(Tenant.id)).all() == [tenant]


def test_messages_by_cli_show_metadata_only(app: Flask, tenant: int, send_text: SendText) -> None:
    send_text("Rechnung an Erika Mustermann, Gartenstraße 7")
    output = run(app, "tenant", "messages", str(tenant)).output
    assert "text" in output and "received" in output and "attempts=0" in output
    assert "Mustermann" not in output and "Gartenstraße" not in output


# --- support staff management -------------------------------------------------------------------

def test_support_user_list_shows_accounts_without_secrets(app: Flask, staff: Staff) -> None:
    enrol_staff(app, "bert@support.example")
    assert run(app, "support-user", "disable", "bert@support.example").exit_code == 0
    lines = run(app, "support-user", "list").output.splitlines()
    assert len(lines) == 2
    anna, bert = lines
    assert anna.split()[:4] == ["anna@support.example", "Anna", "active", "-"]
    assert bert.split()[:3] == ["bert@support.example", "Anna", "disabled"]
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$", anna)
    with get_services(app).db.session() as session:
        hashes = session.scalars(select(StaffUser.password_hash)).all()
    for line in lines:
        assert all(h not in line for h in hashes) and staff.secret not in line and "otpauth" not in line


def test_support_user_list_shows_a_throttled_address(app: Flask, client: FlaskClient, staff: Staff) -> None:
    for n in range(10):  # from five sources: the address limit (10 in 5 minutes), not the per-source one
        source = {"REMOTE_ADDR": f"203.0.113.{n // 2}"}
        token = read_csrf(client.get("/support/login", environ_base=source))
        client.post("/support/login", environ_base=source, data={
            "csrf_token": token, "email": staff.email, "password": f"falsch-falsch-{n}", "code": "123456"})
    line = run(app, "support-user", "list").output.splitlines()[0]
    assert re.search(r"active +throttled until \d{2}:\d{2} UTC", line), line


def test_disable_ends_the_sessions_and_the_logins_until_enabled(app: Flask, console: FlaskClient,
                                                                 staff: Staff) -> None:
    result = run(app, "support-user", "disable", "Anna@Support.example")
    assert result.exit_code == 0 and "anna@support.example: disabled" in result.output
    assert not logged_in(console)
    response = staff_log_in(console, staff, code=staff.code(steps_ahead=1))
    assert response.status_code == 401 and not logged_in(console)
    assert "was already disabled" in run(app, "support-user", "disable", staff.email).output
    result = run(app, "support-user", "enable", staff.email)
    assert result.exit_code == 0 and "anna@support.example: enabled" in result.output
    assert staff_log_in(console, staff, code=staff.code(steps_ahead=1)).status_code == 302 and logged_in(console)
    audit = run(app, "audit", "list").output.splitlines()
    assert [line.split()[3:5] for line in audit[:3]] == [
        ["anna@support.example", "staff_login"], ["cli", "staff_enabled"], ["cli", "staff_disabled"]]


def test_reset_password_replaces_it_and_ends_the_sessions(app: Flask, console: FlaskClient, staff: Staff) -> None:
    result = run(app, "support-user", "reset-password", staff.email, "--generate")
    assert result.exit_code == 0, result.output
    password = result.output.strip().splitlines()[-1].strip()
    assert len(password) >= 16 and password not in run(app, "audit", "list").output
    assert not logged_in(console)
    assert staff_log_in(console, staff, code=staff.code(steps_ahead=1)).status_code == 401  # the old password
    renewed = Staff(staff.email, password, staff.secret)
    assert staff_log_in(console, renewed, code=staff.code(steps_ahead=1)).status_code == 302
    chosen = "ein-neues-langes-Passwort"
    result = run(app, "support-user", "reset-password", staff.email, input=f"{chosen}\n{chosen}\n")  # prompted
    assert result.exit_code == 0 and chosen not in result.output
    assert not logged_in(console)
    result = run(app, "support-user", "reset-password", staff.email, input="kurz\nkurz\n")
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    with get_services(app).db.session() as session:  # the authenticator's next code (no waiting 30 s)
        session.execute(update(StaffUser).values(last_totp_step=None))
    assert staff_log_in(console, Staff(staff.email, chosen, staff.secret)).status_code == 302
    assert run(app, "audit", "list").output.count("staff_password_reset") == 2


def test_reset_totp_shows_the_new_secret_once_and_the_old_one_stops_working(
        app: Flask, console: FlaskClient, staff: Staff, tmp_path: Path) -> None:
    qr = tmp_path / "anna.svg"
    result = run(app, "support-user", "reset-totp", staff.email, "--qr-file", str(qr))
    assert result.exit_code == 0, result.output
    uri = next(line for line in result.output.splitlines() if line.startswith("otpauth://totp/"))
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    assert secret != staff.secret and "<svg" in qr.read_text() and oct(qr.stat().st_mode)[-3:] == "600"
    assert not logged_in(console)
    assert staff_log_in(console, staff, code=staff.code(steps_ahead=1)).status_code == 401  # the old app's code
    renewed = Staff(staff.email, staff.password, secret)
    assert staff_log_in(console, renewed).status_code == 302 and logged_in(console)
    audit = run(app, "audit", "list").output
    assert "staff_totp_reset" in audit and secret not in audit


def test_staff_commands_name_an_unknown_address_in_one_line(app: Flask, staff: Staff) -> None:
    for command in ("disable", "enable", "reset-password", "reset-totp"):
        args = ["support-user", command, "niemand@support.example"]
        result = run(app, *args, *(["--generate"] if command == "reset-password" else []))
        assert result.exit_code == 1 and result.output == "Error: no support user with this e-mail address\n", \
            (command, result.output)
    assert [line.split()[4] for line in run(app, "audit", "list").output.splitlines()] == ["staff_created"]
