"""Receipts and deletion where people see them: the support console and the account page."""
from __future__ import annotations

import io
import json
import zipfile

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from services import get_services
from store.models import AuditEntry, DeletionReceipt, DeletionTrigger, Tenant
from tests.helpers import IssueByVoice, account_log_in, load_cases, submit, text_of

CASE = next(c for c in load_cases() if c["id"] == "waschbecken")


def receipts_of(app: Flask, tenant_id: int) -> list[DeletionReceipt]:
    with get_services(app).db.session() as session:
        return list(session.scalars(select(DeletionReceipt).where(DeletionReceipt.tenant_id == tenant_id)))


def test_support_deletes_content_and_offboards_with_receipts_and_audit(
        app: Flask, console: FlaskClient, tenant: int, issue_by_voice: IssueByVoice) -> None:
    issue_by_voice(CASE)
    page = f"/support/tenants/{tenant}"
    deleted = submit(console, f"{page}/delete-content", page)
    [receipt] = receipts_of(app, tenant)
    assert receipt.trigger is DeletionTrigger.REQUEST and receipt.categories["invoice"] == 1
    assert f"Löschbeleg {receipt.id}" in text_of(deleted) and receipt.id in text_of(console.get(page))

    refused = submit(console, f"{page}/offboard", page, confirm="999")
    assert "zur Bestätigung" in text_of(refused) and len(receipts_of(app, tenant)) == 1
    done = submit(console, f"{page}/offboard", page, confirm=str(tenant))
    assert "offboarded" in text_of(done) and "+4917612345678" not in text_of(done)
    assert {r.trigger for r in receipts_of(app, tenant)} == {DeletionTrigger.REQUEST, DeletionTrigger.OFFBOARDING}
    with get_services(app).db.session() as session:
        assert session.get_one(Tenant, tenant).company == ""
        actions = [a.action for a in session.scalars(select(AuditEntry).where(AuditEntry.tenant_id == tenant))]
    assert {"content_deleted", "tenant_offboarded"} <= set(actions)


def test_account_page_shows_receipts_and_exports_a_zip(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice) -> None:
    issue_by_voice(CASE)
    token = account_log_in(app, client, tenant)
    export = client.post("/konto/export", data={"csrf_token": token})
    assert export.status_code == 200 and export.mimetype == "application/zip"
    data = json.loads(zipfile.ZipFile(io.BytesIO(export.data)).read("daten.json"))
    assert data["invoices"][0]["fields"]["customer"]["name"] == CASE["fields"]["customer"]["name"]
    assert client.post("/konto/export").status_code == 400  # no form token, no export

    result = app.test_cli_runner().invoke(args=["tenant", "delete-content", str(tenant), "--yes"])
    assert result.exit_code == 0, result.output
    [receipt] = receipts_of(app, tenant)
    page = client.get("/konto").get_data(as_text=True)
    assert receipt.id in page and "auf Wunsch gelöscht" in page
