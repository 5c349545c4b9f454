"""One set of profile rules: the account page, the support console and the CLI refuse the same values."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import NEW_TENANT, PROFILE, account_log_in, load_tenant, submit, tenant_count, text_of

NEW = "/support/tenants/new"
CLI_ADD = ["tenant", "add", "--phone", "+4917612345678", "--company", "Elektro Meier GmbH", "--street", "Werkstraße 5",
           "--postal-code", "50667", "--city", "Köln", "--tax-number", "217/5937/0123",
           "--iban", "DE89370400440532013000", "--email", "info@elektro-meier.de"]
CLI_OPTIONS = {"payment_terms_days": "--payment-terms"}  # the others are the field name with dashes


# field, value, the console's message, the CLI's message (the account page's texts are tested in test_account)
CASES = [
    ("vat_rate", "16", "Bitte 19 %, 7 % oder 0 %.", "vat rate is not allowed (19, 7 or 0 %)"),
    ("payment_terms_days", "120", "Bitte eine Zahl von 0 bis 90 Tagen.",
     "payment terms is out of range (0 to 90 days)"),
    ("hourly_rate", "5000", "Bitte einen Betrag zwischen 0 und 1.000 €.",
     "hourly rate is out of range (0 to 1000 euros)"),
    ("postal_code", "ABC", "Bitte eine fünfstellige Postleitzahl eingeben.", "postal code is not valid"),
    ("tax_number", "12", "Das ist keine Steuernummer", "tax number (or VAT id) is not valid"),
    ("vat_id", "123", "Das ist keine USt-IdNr.", "VAT id is not valid"),
]


@pytest.mark.parametrize(("field", "value", "console_text", "cli_text"), CASES)
def test_every_path_refuses_the_same_values(app: Flask, console: FlaskClient, tenant: int, field: str, value: str,
                                            console_text: str, cli_text: str) -> None:
    before = load_tenant(app, tenant)
    account = app.test_client()
    token = account_log_in(app, account, tenant)
    response = account.post("/konto/profil", data={**PROFILE, field: value, "csrf_token": token})
    assert response.status_code == 422 and "Es wurde nichts geändert" in text_of(response)

    response = submit(console, NEW, NEW, **{**NEW_TENANT, field: value})  # a crafted form for the vat rate
    assert response.status_code == 422 and console_text in text_of(response)
    edit = f"/support/tenants/{tenant}/edit"
    response = submit(console, edit, edit, **{**NEW_TENANT, "phone": "", field: value})
    assert response.status_code == 422 and console_text in text_of(response)

    option = CLI_OPTIONS.get(field, "--" + field.replace("_", "-"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=[*CLI_ADD, option, value])
    assert result.exit_code == 2 and cli_text in result.output and f"'{option}'" in result.output, result.output
    result = runner.invoke(args=["tenant", "edit", str(tenant), option, value])
    assert result.exit_code == 1 and cli_text in result.output, result.output

    assert tenant_count(app) == 1  # nothing was created
    after = load_tenant(app, tenant)
    assert {c: getattr(after, c) for c in PROFILE} == {c: getattr(before, c) for c in PROFILE}  # nor changed


def test_console_edit_keeps_what_its_form_does_not_show_and_clears_an_unticked_box(
        app: Flask, console: FlaskClient, tenant: int) -> None:
    account = app.test_client()
    token = account_log_in(app, account, tenant)
    data = {**PROFILE, "small_business": "on", "vat_rate": "0", "retention_days": "7", "csrf_token": token}
    assert account.post("/konto/profil", data=data).status_code == 303
    assert load_tenant(app, tenant).small_business

    edit = f"/support/tenants/{tenant}/edit"
    response = submit(console, edit, edit, **{**NEW_TENANT, "phone": ""})  # the box is not ticked: not sent
    assert "Änderungen gespeichert" in text_of(response)
    saved = load_tenant(app, tenant)
    assert not saved.small_business and saved.vat_rate == 19
    assert (saved.number_format, saved.retention_days) == ("EM-{YYYY}/{NNN}", 7)  # not on the console's form
    assert '<option value="19" selected>19 %</option>' in text_of(console.get(edit))  # the rate is a choice


def test_cli_add_gives_what_no_option_sets_the_defaults(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=[*CLI_ADD, "--small-business", "--vat-rate", "0"])
    assert result.exit_code == 0, result.output
    saved = load_tenant(app, int(result.output.split()[1]))
    assert saved.small_business and saved.vat_rate == 0
    assert (saved.number_format, saved.retention_days, saved.payment_terms_days, saved.language) == (
        "RE-{YYYY}-{NNNN}", 30, 14, "de")


def test_the_account_page_refuses_a_form_that_lacks_a_field_rather_than_resetting_it(app: Flask, tenant: int) -> None:
    account = app.test_client()
    token = account_log_in(app, account, tenant)
    assert account.post("/konto/profil", data={**PROFILE, "csrf_token": token}).status_code == 303
    partial = {k: v for k, v in PROFILE.items() if k != "number_format"}
    response = account.post("/konto/profil", data={**partial, "csrf_token": token})
    assert response.status_code == 422 and "Es wurde nichts geändert" in text_of(response)
    assert load_tenant(app, tenant).number_format == "EM-{YYYY}/{NNN}"
