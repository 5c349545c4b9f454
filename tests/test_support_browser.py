"""The support console in real headless Chromium: log in with password + TOTP, onboard a tenant by code."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import NEW_TENANT, Staff, enrol_staff, sent_code


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def log_in(page: Page, live_url: str, staff: Staff, code: str) -> None:
    page.goto(f"{live_url}/support/tenants")  # anonymous: sent to the login page
    expect(page).to_have_url(f"{live_url}/support/login")
    page.get_by_label("E-Mail").fill(staff.email)
    page.get_by_label("Passwort").fill(staff.password)
    page.get_by_label("Code aus der Authenticator-App").fill(code)
    page.get_by_role("button", name="Anmelden").click()


def test_staff_logs_in_creates_a_tenant_and_verifies_its_number(
        app: Flask, live_url: str, page: Page, whatsapp_fake: FakeWhatsApp, tmp_path: Path) -> None:
    staff = enrol_staff(app)
    log_in(page, live_url, staff, code=staff.code(steps_ahead=-3))  # a stale code is refused
    expect(page.get_by_role("alert")).to_contain_text("Passwort oder Code ist falsch")
    log_in(page, live_url, staff, code=staff.code())
    expect(page.get_by_role("heading", name="Betriebe")).to_be_visible()

    page.get_by_role("link", name="Neuer Betrieb").first.click()
    for name, label in [("phone", "WhatsApp-Nummer"), ("company", "Firma"), ("email", "E-Mail"),
                        ("street", "Straße und Hausnummer"), ("postal_code", "PLZ"), ("city", "Ort"),
                        ("tax_number", "Steuernummer"), ("iban", "IBAN"), ("hourly_rate", "Stundensatz")]:
        page.get_by_label(label, exact=name != "hourly_rate").fill(NEW_TENANT[name])
    page.get_by_role("button", name="Betrieb anlegen").click()
    expect(page.get_by_role("status")).to_contain_text("Betrieb angelegt")
    expect(page.locator(".status .badge").first).to_have_text("nicht verifiziert")

    page.get_by_role("button", name="Code senden").click()
    expect(page.get_by_role("status")).to_contain_text("Code gesendet")
    code = sent_code(whatsapp_fake, "+4917698765432")
    page.get_by_label("Code vom Betrieb").fill(code)
    page.get_by_role("button", name="Code prüfen").click()
    expect(page.get_by_role("status")).to_contain_text("Die Nummer ist jetzt verifiziert")
    expect(page.locator(".status .badge").first).to_have_text("verifiziert")
    entry = page.locator("table.audit tbody tr").first
    expect(entry).to_contain_text("Code eingegeben")
    expect(entry).to_contain_text(staff.email)
    expect(entry).to_contain_text("Ergebnis: verifiziert")

    page.get_by_role("link", name="Betriebe").click()
    row = page.locator("table.tenants tbody tr", has_text="Malerbetrieb Schulz")
    expect(row.locator(".badge").first).to_have_text("verifiziert")
    page.screenshot(path=str(tmp_path / "support-tenants.png"), full_page=True)
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("status")).to_contain_text("abgemeldet")
    page.goto(f"{live_url}/support/audit")
    expect(page).to_have_url(f"{live_url}/support/login")
