"""cancellation (Storno): per issued invoice the SHA-256 of its XML, and on a Stornorechnung the invoice it cancels

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 12:00:00

The new invoice state 'cancelled' needs no change: states are stored as strings.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('xml_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('cancels_id', sa.String(length=36), nullable=True))
        batch.create_unique_constraint('uq_invoices_cancels_id', ['cancels_id'])
        batch.create_foreign_key('fk_invoices_cancels_id', 'invoices', ['cancels_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.drop_constraint('fk_invoices_cancels_id', type_='foreignkey')
        batch.drop_constraint('uq_invoices_cancels_id', type_='unique')
        batch.drop_column('cancels_id')
        batch.drop_column('xml_sha256')
