"""Support console: a tenant's archive addresses and where each invoice's archive copy stands (states only).

Registers its routes on handlers.support.bp."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from accounts.archive import ArchiveAddressInvalid, read_archive_addresses, save_archive_addresses
from handlers.support import bp
from services import get_services
from store.archive import list_archive_addresses, list_archive_history
from store.models import Tenant


def render_archive(tenant_id: int, typed: str | None = None, status: int = 200) -> tuple[str, int]:
    services = get_services()
    with services.db.session() as db:
        record = db.get_one(Tenant, tenant_id)
        addresses = list_archive_addresses(db, tenant_id)
        html = render_template("support/archive.html", tenant=record, invoices=list_archive_history(db, tenant_id),
                               addresses="\n".join(addresses) if typed is None else typed,
                               mail=bool(services.settings.smtp_url))
    return html, status


@bp.get("/tenants/<int:tenant_id>/archive")
def tenant_archive(tenant_id: int) -> tuple[str, int]:
    return render_archive(tenant_id)


@bp.post("/tenants/<int:tenant_id>/archive")
def tenant_save_archive(tenant_id: int) -> BaseResponse | tuple[str, int]:
    typed = request.form.get("addresses", "")[:2000]
    try:
        addresses = read_archive_addresses(typed.splitlines())
    except ArchiveAddressInvalid as exc:
        flash(f"Keine gültige E-Mail-Adresse: {exc.address} – nichts geändert." if exc.address
              else "Höchstens fünf Archiv-Adressen – nichts geändert.", "error")
        return render_archive(tenant_id, typed, 422)
    with get_services().db.session() as db:
        changed = save_archive_addresses(db, g.staff_email, tenant_id, addresses)
    flash("Archiv-Adressen gespeichert." if changed else "Keine Änderungen.", "ok")
    return redirect(url_for("support.tenant_archive", tenant_id=tenant_id))
