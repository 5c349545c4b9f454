"""drafts: an invoice row without a number until issued, the bot messages that showed it; price list; auto-issue

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 10:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.alter_column('number', existing_type=sa.String(length=60), nullable=True)
        batch.add_column(sa.Column('issued_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('shown_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('revised_by', sa.Integer(), nullable=True))
    op.execute("UPDATE invoices SET issued_at = created_at")
    with op.batch_alter_table('tenants') as batch:
        batch.add_column(sa.Column('auto_issue', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'draft_messages',
        sa.Column('wa_message_hmac', sa.String(length=64), primary_key=True),
        sa.Column('invoice_id', sa.String(length=36), sa.ForeignKey('invoices.id', ondelete='CASCADE'),
                  nullable=False, index=True),
    )
    op.create_table(
        'price_items',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('tenant_id', sa.Integer(), sa.ForeignKey('tenants.id', ondelete='CASCADE'), nullable=False,
                  index=True),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('unit', sa.String(length=16), nullable=False),
        sa.Column('unit_price', sa.Numeric(10, 2), nullable=False),
        sa.Column('vat_rate', sa.Numeric(5, 2), nullable=True),
        sa.UniqueConstraint('tenant_id', 'description'),
    )


def downgrade() -> None:
    op.drop_table('price_items')
    op.drop_table('draft_messages')
    with op.batch_alter_table('tenants') as batch:
        batch.drop_column('auto_issue')
    op.execute("DELETE FROM invoices WHERE number IS NULL")
    with op.batch_alter_table('invoices') as batch:
        batch.drop_column('revised_by')
        batch.drop_column('shown_at')
        batch.drop_column('issued_at')
        batch.alter_column('number', existing_type=sa.String(length=60), nullable=False)
