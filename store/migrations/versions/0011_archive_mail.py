"""archive hand-off and mail to the customer: archive addresses per tenant, per invoice where its archive copy
stands and whether it was mailed to the customer, the receipt's hand-off flag, the §14b reminder's last time

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 14:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'archive_addresses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tenant_id', 'email'),
    )
    op.create_index(op.f('ix_archive_addresses_tenant_id'), 'archive_addresses', ['tenant_id'], unique=False)
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('archive_state', sa.Enum('pending', 'sent', 'failed', name='archivestate',
                                                            native_enum=False, length=32), nullable=True))
        batch.add_column(sa.Column('archived_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('customer_mailed_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('tenants') as batch:
        batch.add_column(sa.Column('archive_reminded_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('deletion_receipts') as batch:
        batch.add_column(sa.Column('archive_handed_off', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deletion_receipts') as batch:
        batch.drop_column('archive_handed_off')
    with op.batch_alter_table('tenants') as batch:
        batch.drop_column('archive_reminded_at')
    with op.batch_alter_table('invoices') as batch:
        batch.drop_column('customer_mailed_at')
        batch.drop_column('archived_at')
        batch.drop_column('archive_state')
    op.drop_index(op.f('ix_archive_addresses_tenant_id'), table_name='archive_addresses')
    op.drop_table('archive_addresses')
