"""account changes: a code's purpose (a new IBAN waits sealed in its challenge), code sends counted per tenant,
security notices to send; stored logos lose their metadata

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00

A logo stored before kept the comment (COM) of its upload; the JPEG segments other than the JFIF header, the
tables and the image data are dropped without re-encoding. A logo that is not a well-formed JPEG is left as it
was (the renderer checks it anyway). A downgrade keeps the cleaned logos.
"""
import logging
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from accounts.logos import strip_jpeg_metadata

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

logger = logging.getLogger(f"alembic.{revision}")


def upgrade() -> None:
    with op.batch_alter_table('otp_challenges') as batch:
        batch.add_column(sa.Column('purpose', sa.String(length=10), nullable=False, server_default='number'))
        batch.add_column(sa.Column('payload_sealed', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('otp_sends') as batch:
        batch.add_column(sa.Column('tenant_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_otp_sends_tenant_id_tenants', 'tenants', ['tenant_id'], ['id'],
                                 ondelete='CASCADE')
        batch.create_index('ix_otp_sends_tenant_id', ['tenant_id'], unique=False)
    op.create_table(
        'account_notices',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('tenant_id', sa.Integer(), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=False,
                  index=True),
        sa.Column('event', sa.String(length=20), nullable=False),
        sa.Column('phone_sealed', sa.LargeBinary(), nullable=True),
        sa.Column('phone_hmac', sa.String(length=64), nullable=True),
        sa.Column('email', sa.String(length=200), nullable=True),
        sa.Column('detail', sa.String(length=40), nullable=True),
        sa.Column('texted_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    strip_stored_logos()


def strip_stored_logos() -> None:
    bind = op.get_bind()
    tenant_ids = bind.execute(sa.text("SELECT id FROM tenants WHERE logo IS NOT NULL ORDER BY id")).scalars().all()
    for tenant_id in tenant_ids:  # one logo in memory at a time
        logo = bytes(bind.execute(sa.text("SELECT logo FROM tenants WHERE id = :i"), {"i": tenant_id}).scalar_one())
        try:
            clean = strip_jpeg_metadata(logo)
        except ValueError as exc:
            logger.warning("logo of tenant %s left as it is: %s", tenant_id, exc)
            continue
        if clean != logo:
            bind.execute(sa.text("UPDATE tenants SET logo = :l WHERE id = :i"), {"l": clean, "i": tenant_id})


def downgrade() -> None:
    op.drop_table('account_notices')
    with op.batch_alter_table('otp_sends') as batch:
        batch.drop_index('ix_otp_sends_tenant_id')
        batch.drop_constraint('fk_otp_sends_tenant_id_tenants', type_='foreignkey')
        batch.drop_column('tenant_id')
    with op.batch_alter_table('otp_challenges') as batch:
        batch.drop_column('payload_sealed')
        batch.drop_column('purpose')
