"""The price list and the auto-issue setting: CSV import by CLI, the account page, the console, export and deletion."""
from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from services import get_services
from store.models import DeletionReceipt, DeletionTrigger, PriceItem
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    TENANT_PHONE,
    AddTenant,
    SendText,
    account_log_in,
    issue_login_token,
    load_tenant,
    read_csrf,
    text_of,
)

OTHER_PHONE = "+4915112345678"
# What a German Excel saves as "CSV (Trennzeichen-getrennt)": semicolons, decimal commas, Windows-1252.
GERMAN_CSV = ("Bezeichnung;Einheit;Preis;MwSt\r\n"
              "Arbeitsstunde Geselle;Std.;62,50;19\r\n"
              "Anfahrt;pauschal;35;\r\n"
              "Kupferrohr 15 mm;m;12,90;\r\n"
              ";;;\r\n"
              "Eckventil;Stück;1.234,50;7\r\n").encode("cp1252")
ENGLISH_CSV = (b"description,unit,unit_price,vat_rate\n"
               b"Arbeitsstunde Geselle,h,64.00,19\n"
               b'Photovoltaik-Modul,piece,"189,90",0\n'
               b"Transport,day,250,\n")


def cli(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def import_csv(app: Flask, tmp_path: Path, tenant_id: int, data: bytes, *options: str) -> Result:
    path = tmp_path / "preise.csv"
    path.write_bytes(data)
    return cli(app, "tenant", "prices", "import", str(tenant_id), str(path), *options)


def listed(app: Flask, tenant_id: int) -> list[str]:
    """`flask tenant prices list` as lines, each reduced to its words."""
    result = cli(app, "tenant", "prices", "list", str(tenant_id))
    assert result.exit_code == 0, result.output
    return [" ".join(line.split()) for line in result.output.splitlines()]


def price_ids(app: Flask, tenant_id: int) -> list[int]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(PriceItem.id).where(PriceItem.tenant_id == tenant_id)))


# --- CSV import and the CLI ----------------------------------------------------------------------

def test_a_german_excel_file_and_an_english_one_import(app: Flask, tenant: int, tmp_path: Path) -> None:
    result = import_csv(app, tmp_path, tenant, GERMAN_CSV)
    assert result.exit_code == 0, result.output
    assert f"tenant {tenant}: 4 price list entries imported" in result.output
    assert listed(app, tenant) == ["Anfahrt lump_sum 35.00 -", "Arbeitsstunde Geselle h 62.50 19 %",
                                   "Eckventil piece 1234.50 7 %", "Kupferrohr 15 mm m 12.90 -"]

    result = import_csv(app, tmp_path, tenant, ENGLISH_CSV)  # adds, and updates by description
    assert result.exit_code == 0, result.output
    assert listed(app, tenant) == ["Anfahrt lump_sum 35.00 -", "Arbeitsstunde Geselle h 64.00 19 %",
                                   "Eckventil piece 1234.50 7 %", "Kupferrohr 15 mm m 12.90 -",
                                   "Photovoltaik-Modul piece 189.90 0 %", "Transport day 250.00 -"]

    result = import_csv(app, tmp_path, tenant, ENGLISH_CSV, "--replace")
    assert result.exit_code == 0 and "(list replaced)" in result.output, result.output
    assert listed(app, tenant) == ["Arbeitsstunde Geselle h 64.00 19 %", "Photovoltaik-Modul piece 189.90 0 %",
                                   "Transport day 250.00 -"]


def test_a_bad_line_is_named_in_one_line_and_nothing_is_imported(app: Flask, tenant: int, tmp_path: Path) -> None:
    assert import_csv(app, tmp_path, tenant, ENGLISH_CSV).exit_code == 0
    bad = (b"Bezeichnung;Einheit;Preis;MwSt\n"
           b"Arbeitsstunde Geselle;Std;70,00;19\n"
           b"Silikon;Eimer;8,50;19\n")

    result = import_csv(app, tmp_path, tenant, bad, "--replace")

    assert result.exit_code != 0
    [line] = result.output.strip().splitlines()
    assert "line 3" in line and "unknown unit" in line and "'Eimer'" in line and "nothing was imported" in line
    assert listed(app, tenant) == ["Arbeitsstunde Geselle h 64.00 19 %", "Photovoltaik-Modul piece 189.90 0 %",
                                   "Transport day 250.00 -"]


def test_other_bad_files_say_what_to_fix(app: Flask, tenant: int, tmp_path: Path) -> None:
    cases = {
        b"Artikel;Menge\nSchraube;3\n": "line 1: the first line must name the columns",
        b"description,unit,unit_price\nArbeit,h,62,50\n": "line 2: wrong number of fields",
        b"description;unit;unit_price\nArbeit;h;zweiundsechzig\n": "line 2: the price is not a number",
        b"description;unit;unit_price\nArbeit;h;100001\n": "line 2: the price must be between 0 and 100000",
        b"description;unit;unit_price;vat_rate\nArbeit;h;62;16\n": "line 2: the VAT rate must be 0, 7 or 19",
        b"description;unit;unit_price\nArbeit;h;62\narbeit;h;64\n": "line 3: this description appears twice",
        ("description;unit;unit_price\n" + "x" * 201 + ";h;1\n").encode(): "line 2: the description is longer",
        b"description;unit;unit_price\n": "the file has no entries",
    }
    for data, message in cases.items():
        result = import_csv(app, tmp_path, tenant, data)
        assert result.exit_code != 0 and message in result.output, (data, result.output)
        assert len(result.output.strip().splitlines()) == 1
    too_many = "description;unit;unit_price\n" + "".join(f"Artikel {n};piece;1\n" for n in range(501))
    result = import_csv(app, tmp_path, tenant, too_many.encode())
    assert result.exit_code != 0 and "at most 500 entries" in result.output
    assert listed(app, tenant) == [f"tenant {tenant}: the price list is empty"]


def test_cli_price_commands_refuse_an_unknown_tenant(app: Flask, tmp_path: Path) -> None:
    result = import_csv(app, tmp_path, 999, ENGLISH_CSV)
    assert result.exit_code != 0 and "no such tenant" in result.output
    result = cli(app, "tenant", "prices", "list", "999")
    assert result.exit_code != 0 and "no such tenant" in result.output


def test_auto_issue_is_off_unless_added_with_it_and_edit_changes_it_only_when_given(
        app: Flask, tenant: int) -> None:
    assert load_tenant(app, tenant).auto_issue is False
    result = cli(app, "tenant", "edit", str(tenant), "--auto-issue")
    assert result.exit_code == 0 and "changed auto_issue" in result.output, result.output
    assert load_tenant(app, tenant).auto_issue is True
    result = cli(app, "tenant", "edit", str(tenant), "--city", "Bonn", "--postal-code", "53111")
    assert result.exit_code == 0 and "auto_issue" not in result.output, result.output
    assert load_tenant(app, tenant).auto_issue is True
    assert cli(app, "tenant", "edit", str(tenant), "--no-auto-issue").exit_code == 0
    assert load_tenant(app, tenant).auto_issue is False

    result = cli(app, "tenant", "add", "--phone", OTHER_PHONE, "--company", "Sofort GmbH", "--street", "Weg 1",
                 "--postal-code", "50667", "--city", "Köln", "--tax-number", "217/5937/0123",
                 "--iban", "DE89370400440532013000", "--email", "info@sofort.de", "--auto-issue")
    assert result.exit_code == 0 and "issues at once, no draft" in result.output, result.output
    assert load_tenant(app, int(result.output.split()[1])).auto_issue is True


# --- the account page ----------------------------------------------------------------------------

def test_the_tenant_adds_updates_and_deletes_entries_on_the_account_page(
        app: Flask, client: FlaskClient, tenant: int) -> None:
    token = account_log_in(app, client, tenant)
    page = text_of(client.get("/konto"))
    assert "Preisliste" in page and "Noch keine Einträge." in page

    entry = {"csrf_token": token, "description": "Arbeitsstunde Meister", "unit": "h", "unit_price": "78,50",
             "vat_rate": ""}
    page = text_of(client.post("/konto/preise", data=entry, follow_redirects=True))
    assert "Der Eintrag ist in deiner Preisliste gespeichert." in page
    assert "Arbeitsstunde Meister" in page and "78,50 € / Stunde" in page and "wie im Profil" in page

    page = text_of(client.post("/konto/preise", data={**entry, "description": "arbeitsstunde meister",
                                                      "unit_price": "80", "vat_rate": "19"}, follow_redirects=True))
    assert "80,00 € / Stunde" in page and "78,50" not in page and "USt 19 %" in page
    [item_id] = price_ids(app, tenant)

    page = text_of(client.post(f"/konto/preise/{item_id}/loeschen", data={"csrf_token": token},
                               follow_redirects=True))
    assert "Der Eintrag ist aus deiner Preisliste gelöscht." in page and "Noch keine Einträge." in page


def test_a_bad_entry_shows_a_message_and_keeps_the_form(app: Flask, client: FlaskClient, tenant: int) -> None:
    token = account_log_in(app, client, tenant)
    entry = {"csrf_token": token, "description": "Silikon", "unit": "piece", "unit_price": "zehn", "vat_rate": ""}
    response = client.post("/konto/preise", data=entry)
    assert response.status_code == 422
    assert "Der Preis muss eine Zahl zwischen 0 und 100.000 € sein" in text_of(response)
    assert 'value="zehn"' in text_of(response)
    for field, value, message in (("description", " ", "Bitte gib eine Bezeichnung an"),
                                  ("unit", "Eimer", "Bitte wähle eine Einheit"),
                                  ("vat_rate", "16", "Der Umsatzsteuersatz muss 19 %, 7 % oder 0 % sein")):
        response = client.post("/konto/preise", data={**entry, "unit_price": "9,90", field: value})
        assert response.status_code == 422 and message in text_of(response)
    assert price_ids(app, tenant) == []
    assert client.post("/konto/preise", data={**entry, "csrf_token": "forged"}).status_code == 400


def test_another_tenants_entry_cannot_be_deleted(app: Flask, client: FlaskClient, tenant: int,
                                                 add_tenant: AddTenant, tmp_path: Path) -> None:
    other = add_tenant(phone=OTHER_PHONE, company="Malerbetrieb Kowalski")
    assert import_csv(app, tmp_path, other, ENGLISH_CSV).exit_code == 0
    theirs = price_ids(app, other)
    token = account_log_in(app, client, tenant)

    response = client.post(f"/konto/preise/{theirs[0]}/loeschen", data={"csrf_token": token})

    assert response.status_code == 404
    assert "Diesen Eintrag gibt es in deiner Preisliste nicht (mehr)." in text_of(response)
    assert price_ids(app, other) == theirs
    assert "Photovoltaik-Modul" not in text_of(client.get("/konto"))  # nor does the page show theirs


def test_the_auto_issue_checkbox_saves_the_setting(app: Flask, client: FlaskClient, add_tenant: AddTenant) -> None:
    tenant = add_tenant(language="en")
    token = account_log_in(app, client, tenant)
    assert "Issue invoices at once, without a draft" in text_of(client.get("/konto"))

    page = text_of(client.post("/konto/sofort", data={"csrf_token": token, "auto_issue": "on"},
                               follow_redirects=True))
    assert "from now on the bot issues invoices at once" in page
    assert 'name="auto_issue" checked' in page and load_tenant(app, tenant).auto_issue is True

    page = text_of(client.post("/konto/sofort", data={"csrf_token": token}, follow_redirects=True))
    assert "the bot first sends you a draft" in page
    assert 'name="auto_issue" checked' not in page and load_tenant(app, tenant).auto_issue is False


def test_price_list_forms_need_a_login(app: Flask, client: FlaskClient, tenant: int) -> None:
    token = read_csrf(client.get(f"/konto/login/{issue_login_token(app, tenant)}"))  # a valid form token, no login
    entry = {"csrf_token": token, "description": "Anfahrt", "unit": "lump_sum", "unit_price": "35", "auto_issue": "on"}
    for url in ("/konto/preise", "/konto/preise/1/loeschen", "/konto/sofort"):
        assert client.post(url, data=entry).status_code == 403
    assert price_ids(app, tenant) == [] and load_tenant(app, tenant).auto_issue is False


# --- the support console -------------------------------------------------------------------------

def test_support_edits_the_price_list_and_auto_issue_with_audit(
        app: Flask, console: FlaskClient, tenant: int, add_tenant: AddTenant) -> None:
    page = f"/support/tenants/{tenant}"
    token = read_csrf(console.get(page))
    entry = {"csrf_token": token, "description": "Fliesen verlegen", "unit": "m2", "unit_price": "45,00",
             "vat_rate": "19"}

    shown = text_of(console.post(f"{page}/prices", data=entry, follow_redirects=True))
    assert "Preis gespeichert." in shown and "Fliesen verlegen" in shown and "45,00 €" in shown and "m²" in shown
    shown = text_of(console.post(f"{page}/prices", data={**entry, "unit_price": "-1"}, follow_redirects=True))
    assert "Der Preis muss eine Zahl zwischen 0 und 100.000 € sein" in shown and "Es wurde nichts gespeichert." in shown
    [item_id] = price_ids(app, tenant)
    other = add_tenant(phone=OTHER_PHONE, company="Malerbetrieb Kowalski")
    shown = text_of(console.post(f"/support/tenants/{other}/prices/delete",
                                 data={"csrf_token": token, "item_id": str(item_id)}, follow_redirects=True))
    assert "Diesen Eintrag gibt es in der Preisliste nicht (mehr)." in shown and price_ids(app, tenant) == [item_id]
    shown = text_of(console.post(f"{page}/prices/delete", data={"csrf_token": token, "item_id": str(item_id)},
                                 follow_redirects=True))
    assert "Preis gelöscht." in shown and "Fliesen verlegen" not in shown
    shown = text_of(console.post(f"{page}/auto-issue", data={"csrf_token": token, "auto_issue": "on"},
                                 follow_redirects=True))
    assert "Rechnungen werden sofort erstellt, ohne Entwurf." in shown and "sofort, ohne Entwurf" in shown

    audit = text_of(console.get("/support/audit"))
    assert "Preis gespeichert" in audit and "Preis gelöscht" in audit and "Felder: auto_issue" in audit
    assert "anna@support.example" in audit and "Fliesen" not in audit  # who and what, never the entry itself
    assert console.post("/support/tenants/999/prices", data=entry).status_code == 404


# --- export, LÖSCHEN and offboarding -------------------------------------------------------------

def test_the_export_holds_the_price_list_and_the_setting(app: Flask, client: FlaskClient, tenant: int,
                                                         tmp_path: Path) -> None:
    assert import_csv(app, tmp_path, tenant, GERMAN_CSV).exit_code == 0
    token = account_log_in(app, client, tenant)

    response = client.post("/konto/export", data={"csrf_token": token})

    assert response.status_code == 200 and response.mimetype == "application/zip"
    data = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("daten.json"))
    assert data["profile"]["auto_issue"] is False
    assert {"description": "Arbeitsstunde Geselle", "unit": "h", "unit_price": "62.50",
            "vat_rate": "19.00"} in data["price_list"]
    assert {"description": "Anfahrt", "unit": "lump_sum", "unit_price": "35.00", "vat_rate": None} in data["price_list"]
    assert len(data["price_list"]) == 4


def test_loeschen_keeps_the_price_list(app: Flask, tenant: int, tmp_path: Path, send_text: SendText,
                                       run_worker: Callable[[], None], whatsapp_fake: FakeWhatsApp) -> None:
    assert import_csv(app, tmp_path, tenant, GERMAN_CSV).exit_code == 0
    send_text("LÖSCHEN")
    run_worker()
    send_text("Ja")
    run_worker()
    assert "Löschbeleg" in whatsapp_fake.texts_to(TENANT_PHONE.lstrip("+"))[-1]
    assert len(listed(app, tenant)) == 4


def test_offboarding_deletes_the_price_list_with_a_receipt(app: Flask, tenant: int, tmp_path: Path) -> None:
    assert import_csv(app, tmp_path, tenant, GERMAN_CSV).exit_code == 0

    result = cli(app, "tenant", "offboard", str(tenant), "--confirm", str(tenant))

    assert result.exit_code == 0, result.output
    assert listed(app, tenant) == [f"tenant {tenant}: the price list is empty"]
    assert "price_list=4" in cli(app, "tenant", "receipts", str(tenant)).output
    with get_services(app).db.session() as session:
        receipt = session.scalars(select(DeletionReceipt)).one()
    assert receipt.trigger is DeletionTrigger.OFFBOARDING and receipt.categories["price_list"] == 4
