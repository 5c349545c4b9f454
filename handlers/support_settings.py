"""Support console: a tenant's price list and whether it gets drafts first. Registers its routes on
handlers.support.bp.
"""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from accounts.console import (
    delete_tenant_price,
    save_tenant_price,
    set_auto_issue,
)
from accounts.price_entries import PriceListError
from handlers.support import bp
from services import get_services
from store.models import Tenant

PRICE_ERRORS = {  # PriceListError.field of a form's entry
    "description": "Bitte eine Bezeichnung angeben (höchstens 200 Zeichen).",
    "unit": "Bitte eine Einheit aus der Liste wählen.",
    "unit_price": "Der Preis muss eine Zahl zwischen 0 und 100.000 € sein, z. B. 62,50.",
    "vat_rate": "Der Umsatzsteuersatz muss 19 %, 7 % oder 0 % sein, oder „wie im Profil“.",
    "list": "Die Preisliste ist voll: höchstens 500 Einträge.",
}
PRICE_FIELDS = ("description", "unit", "unit_price", "vat_rate")


@bp.post("/tenants/<int:tenant_id>/auto-issue")
def tenant_auto_issue(tenant_id: int) -> BaseResponse:
    auto_issue = "auto_issue" in request.form  # an unticked checkbox is not sent
    with get_services().db.session() as db:
        changed = set_auto_issue(db, g.staff_email, tenant_id, auto_issue)
    flash(("Rechnungen werden sofort erstellt, ohne Entwurf." if auto_issue
           else "Der Betrieb bekommt zuerst einen Entwurf.") if changed else "Keine Änderungen.", "ok")
    return redirect(url_for("support.tenant", tenant_id=tenant_id, _anchor="rechnungen"))


@bp.post("/tenants/<int:tenant_id>/prices")
def tenant_save_price(tenant_id: int) -> BaseResponse:
    form = {name: request.form.get(name, "")[:400] for name in PRICE_FIELDS}
    try:
        with get_services().db.session() as db:
            save_tenant_price(db, g.staff_email, tenant_id, form)
        flash("Preis gespeichert.", "ok")
    except PriceListError as exc:
        flash(f"{PRICE_ERRORS.get(exc.field, str(exc))} Es wurde nichts gespeichert.", "error")
    return redirect(url_for("support.tenant", tenant_id=tenant_id, _anchor="preise"))


@bp.post("/tenants/<int:tenant_id>/prices/delete")
def tenant_delete_price(tenant_id: int) -> BaseResponse:
    item_id = request.form.get("item_id", type=int)
    with get_services().db.session() as db:
        db.get_one(Tenant, tenant_id)
        deleted = item_id is not None and delete_tenant_price(db, g.staff_email, tenant_id, item_id)
    flash("Preis gelöscht." if deleted else "Diesen Eintrag gibt es in der Preisliste nicht (mehr).",
          "ok" if deleted else "error")
    return redirect(url_for("support.tenant", tenant_id=tenant_id, _anchor="preise"))
