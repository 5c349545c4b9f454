"""Invoice numbers: a per-tenant counter incremented inside the issuing transaction."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import update
from sqlalchemy.orm import Session

from store.models import Tenant

_COUNTER = re.compile(r"\{(N+)\}")


def format_invoice_number(pattern: str, counter: int, issue_date: dt.date) -> str:
    """Expand {YYYY}, {YY}, {MM} and {N...} (zero-padded to the number of Ns) in the tenant's format."""
    text = pattern.replace("{YYYY}", f"{issue_date.year:04d}").replace("{YY}", f"{issue_date.year % 100:02d}")
    text = text.replace("{MM}", f"{issue_date.month:02d}")
    if not _COUNTER.search(text):
        text += "-{NNNN}"
    return _COUNTER.sub(lambda m: f"{counter:0{len(m.group(1))}d}", text)


def claim_next_number(session: Session, tenant_id: int) -> int:
    """Increment the tenant's counter; the row stays locked until the transaction ends (gapless)."""
    stmt = (update(Tenant).where(Tenant.id == tenant_id)
            .values(invoice_counter=Tenant.invoice_counter + 1).returning(Tenant.invoice_counter))
    counter: int = session.execute(stmt).scalar_one()
    return counter
