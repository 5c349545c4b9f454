"""IBAN and BIC checks (schwifty) on every path that saves a tenant: account page, support console, CLI."""
from __future__ import annotations

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from accounts.banking import find_bic_problem, find_iban_problem
from tests.helpers import NEW_TENANT, PROFILE, account_log_in, load_tenant, submit, tenant_count, text_of

COMMERZBANK_IBAN = "DE89370400440532013000"  # Commerzbank Köln, BIC COBADEFFXXX
BAD_CHECKSUM = "DE89 3704 0044 0532 0130 01"
UNKNOWN_BANK_IBAN = "DE58123456780123456789"  # valid check digits, bank code not in schwifty's registry
OTHER_BANK_BIC = "DEUTDEFFXXX"
NEW = "/support/tenants/new"


# --- the shared helper --------------------------------------------------------------------------

@pytest.mark.parametrize(("iban", "problem"), [
    (COMMERZBANK_IBAN, None), ("de89 3704 0044 0532 0130 00", None), ("AT611904300234573201", None),
    ("GB82 WEST 1234 5698 7654 32", None), ("", "required"), (BAD_CHECKSUM, "checksum"),
    ("DE00370400440532013000", "checksum"), ("DE8937040044053201300", "format"),  # one digit short
    ("DE89 3704 0044 0532 0130 0A", "format"),  # a letter in the German account number
    ("XX89370400440532013000", "format"), ("kein IBAN", "format"),
])
def test_iban_problems(iban: str, problem: str | None) -> None:
    assert find_iban_problem(iban) == problem


@pytest.mark.parametrize(("bic", "iban", "problem"), [
    ("", COMMERZBANK_IBAN, None), (None, COMMERZBANK_IBAN, None),
    ("COBADEFFXXX", COMMERZBANK_IBAN, None), ("cobadeff", COMMERZBANK_IBAN, None), ("COBADEFF", None, None),
    (OTHER_BANK_BIC, COMMERZBANK_IBAN, "mismatch"), ("DEUTDEFF", COMMERZBANK_IBAN, "mismatch"),
    (OTHER_BANK_BIC, None, None),  # nothing to compare with
    (OTHER_BANK_BIC, UNKNOWN_BANK_IBAN, None),  # the registry does not know the bank: no mismatch claimed
    (OTHER_BANK_BIC, BAD_CHECKSUM, None),  # the IBAN itself is reported instead
    ("COBA", COMMERZBANK_IBAN, "format"), ("COBAXXFFXXX", COMMERZBANK_IBAN, "format"),  # unknown country
    ("COBADEFFXXXX", COMMERZBANK_IBAN, "format"), ("COBA1EFF", None, "format"),
])
def test_bic_problems(bic: str | None, iban: str | None, problem: str | None) -> None:
    assert find_bic_problem(bic, iban) == problem


# --- account page -------------------------------------------------------------------------------

@pytest.mark.parametrize("iban", ["DE89 3704 0044 0532 0130 00", "de89370400440532013000"])
def test_account_page_stores_a_valid_iban_normalised(app: Flask, client: FlaskClient, tenant: int, iban: str) -> None:
    token = account_log_in(app, client, tenant)
    response = client.post("/konto/profil", data={**PROFILE, "iban": iban, "bic": "cobadeff", "csrf_token": token},
                           follow_redirects=True)
    assert "Dein Profil ist gespeichert" in text_of(response)
    saved = load_tenant(app, tenant)
    assert (saved.iban, saved.bic) == (COMMERZBANK_IBAN, "COBADEFF")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("iban", BAD_CHECKSUM, "Die Prüfziffern passen nicht"),
    ("iban", "DE89 3704 0044 0532 0130 0A", "Bitte gib eine vollständige IBAN an"),
    ("bic", "COBAXXFFXXX", "Die BIC hat 8 oder 11 Zeichen"),
    ("bic", OTHER_BANK_BIC, "Diese BIC gehört nicht zur Bank deiner IBAN"),
])
def test_account_page_refuses_bad_bank_details_and_changes_nothing(
        app: Flask, client: FlaskClient, tenant: int, field: str, value: str, message: str) -> None:
    token = account_log_in(app, client, tenant)
    before = load_tenant(app, tenant)
    response = client.post("/konto/profil", data={**PROFILE, field: value, "csrf_token": token})
    page = text_of(response)
    assert response.status_code == 422 and message in page and "Es wurde nichts geändert" in page
    after = load_tenant(app, tenant)
    assert {c: getattr(after, c) for c in PROFILE} == {c: getattr(before, c) for c in PROFILE}


def test_account_page_explains_the_mismatch_in_english(app: Flask, client: FlaskClient, tenant: int) -> None:
    token = account_log_in(app, client, tenant)
    data = {**PROFILE, "language": "en", "csrf_token": token}
    assert client.post("/konto/profil", data=data).status_code == 303
    response = client.post("/konto/profil", data={**data, "bic": OTHER_BANK_BIC})
    assert response.status_code == 422 and "does not belong to the bank of your IBAN" in text_of(response)


# --- support console ----------------------------------------------------------------------------

@pytest.mark.parametrize(("changes", "message"), [
    ({"iban": BAD_CHECKSUM}, "Diese IBAN ist ungültig: Die Prüfziffern passen nicht."),
    ({"iban": "DE89 3704"}, "Das ist keine gültige IBAN."),
    ({"bic": "COBA"}, "Das ist keine gültige BIC."),
    ({"bic": OTHER_BANK_BIC}, "Diese BIC gehört nicht zur Bank der IBAN."),
])
def test_console_refuses_bad_bank_details_and_creates_nothing(
        app: Flask, console: FlaskClient, changes: dict[str, str], message: str) -> None:
    response = submit(console, NEW, NEW, **{**NEW_TENANT, **changes})
    assert response.status_code == 422 and message in text_of(response)
    assert tenant_count(app) == 0


def test_console_stores_normalised_bank_details_and_checks_them_on_edit(app: Flask, console: FlaskClient) -> None:
    response = submit(console, NEW, NEW, **{**NEW_TENANT, "iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx"})
    assert "Betrieb angelegt" in text_of(response)
    tenant_id = int(response.request.path.rsplit("/", 1)[1])
    assert (load_tenant(app, tenant_id).iban, load_tenant(app, tenant_id).bic) == (COMMERZBANK_IBAN, "COBADEFFXXX")
    edit = f"/support/tenants/{tenant_id}/edit"
    response = submit(console, edit, edit, **{**NEW_TENANT, "bic": OTHER_BANK_BIC})
    assert response.status_code == 422 and "Diese BIC gehört nicht zur Bank der IBAN." in text_of(response)
    response = submit(console, edit, edit, **{**NEW_TENANT, "iban": BAD_CHECKSUM})
    assert response.status_code == 422 and "Die Prüfziffern passen nicht." in text_of(response)
    assert (load_tenant(app, tenant_id).iban, load_tenant(app, tenant_id).bic) == (COMMERZBANK_IBAN, "COBADEFFXXX")


# --- CLI ----------------------------------------------------------------------------------------

def cli_add(app: Flask, iban: str, bic: str | None = None) -> Result:
    args = ["tenant", "add", "--phone", "+4917612345678", "--company", "Elektro Meier GmbH",
            "--street", "Werkstraße 5", "--postal-code", "50667", "--city", "Köln", "--tax-number", "217/5937/0123",
            "--iban", iban, "--email", "info@elektro-meier.de"]
    return app.test_cli_runner().invoke(args=args + (["--bic", bic] if bic is not None else []))


@pytest.mark.parametrize(("iban", "bic", "message"), [
    (BAD_CHECKSUM, None, "IBAN is not valid (its check digits do not match)"),
    ("DE89 3704", None, "IBAN is not valid"),
    (COMMERZBANK_IBAN, "COBA", "BIC is not valid"),
    (COMMERZBANK_IBAN, OTHER_BANK_BIC, "BIC does not belong to the IBAN's bank"),
])
def test_cli_tenant_add_refuses_bad_bank_details_and_creates_nothing(
        app: Flask, iban: str, bic: str | None, message: str) -> None:
    result = cli_add(app, iban, bic)
    assert result.exit_code != 0 and message in result.output, result.output
    assert "created" not in result.output and tenant_count(app) == 0


def test_cli_tenant_add_stores_normalised_bank_details(app: Flask) -> None:
    result = cli_add(app, "de89 3704 0044 0532 0130 00", "cobadeff")
    assert result.exit_code == 0, result.output
    saved = load_tenant(app, int(result.output.split()[1]))
    assert (saved.iban, saved.bic) == (COMMERZBANK_IBAN, "COBADEFF")


def test_cli_tenant_edit_refuses_bad_bank_details(app: Flask, tenant: int) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenant", "edit", str(tenant), "--bic", OTHER_BANK_BIC])
    assert result.exit_code == 1 and "BIC does not belong to the IBAN's bank" in result.output
    result = runner.invoke(args=["tenant", "edit", str(tenant), "--iban", BAD_CHECKSUM])
    assert result.exit_code == 1 and "IBAN is not valid (its check digits do not match)" in result.output
    result = runner.invoke(args=["tenant", "edit", str(tenant), "--bic", "cobadeff",
                                 "--iban", "de89 3704 0044 0532 0130 00"])
    assert result.exit_code == 0 and "changed bic" in result.output, result.output
    saved = load_tenant(app, tenant)
    assert (saved.iban, saved.bic) == (COMMERZBANK_IBAN, "COBADEFF")
