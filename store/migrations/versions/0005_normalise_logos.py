"""existing logos normalised like new uploads: upright, flattened on white, within 709 x 295 px, RGB JPEG

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 13:00:00

A PNG logo cost every invoice render 35-120 ms (WeasyPrint decodes and re-encodes it, transparency as a
second image); the normalised JPEG is copied into the PDF as it is. A logo Pillow cannot read is left as it
was (the renderer leaves it out, as before). No schema change; a downgrade keeps the normalised logos.
"""
import logging
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from accounts.logos import LogoRejected, normalise_logo

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

logger = logging.getLogger(f"alembic.{revision}")


def upgrade() -> None:
    bind = op.get_bind()
    tenant_ids = bind.execute(sa.text("SELECT id FROM tenants WHERE logo IS NOT NULL ORDER BY id")).scalars().all()
    for tenant_id in tenant_ids:  # one logo in memory at a time
        logo = bind.execute(sa.text("SELECT logo FROM tenants WHERE id = :i"), {"i": tenant_id}).scalar_one()
        try:
            data, mime = normalise_logo(bytes(logo))
        except LogoRejected as exc:
            logger.warning("logo of tenant %s left as it is: %s", tenant_id, exc.reason)
            continue
        bind.execute(sa.text("UPDATE tenants SET logo = :l, logo_mime = :m WHERE id = :i"),
                     {"l": data, "m": mime, "i": tenant_id})


def downgrade() -> None:
    pass  # the schema is unchanged; the normalised logos are valid at 0004 too
