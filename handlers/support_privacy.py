"""Support console: delete a tenant's content, offboard a tenant (both with receipts)."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from handlers.support import bp
from services import get_services
from store.privacy import erase_content, offboard


@bp.post("/tenants/<int:tenant_id>/delete-content")
def tenant_delete_content(tenant_id: int) -> BaseResponse:
    services = get_services()
    receipt = erase_content(services.db, services.cipher, tenant_id, g.staff_email)
    flash(f"Alle Inhalte gelöscht. Löschbeleg {receipt.id}.", "ok")
    return redirect(url_for("support.tenant", tenant_id=tenant_id))


@bp.post("/tenants/<int:tenant_id>/offboard")
def tenant_offboard(tenant_id: int) -> BaseResponse:
    if request.form.get("confirm", "").strip() != str(tenant_id):
        flash("Zum Offboarding bitte die Betriebsnummer zur Bestätigung eingeben.", "error")
        return redirect(url_for("support.tenant", tenant_id=tenant_id))
    services = get_services()
    receipt = offboard(services.db, services.cipher, tenant_id, g.staff_email)
    flash(f"Betrieb offboarded: Inhalte und personenbezogene Daten gelöscht. Löschbeleg {receipt.id}.", "ok")
    return redirect(url_for("support.tenant", tenant_id=tenant_id))
