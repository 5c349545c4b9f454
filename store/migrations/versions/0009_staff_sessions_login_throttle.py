"""support staff: server-side sessions (logout ends them, absolute lifetime) and a login throttle per address,
per client address and per pair instead of the per-account lock (which revealed staff addresses and let anyone
lock staff out)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00

The sessions of the old cookies have no record, so every staff member logs in again after the upgrade.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'staff_sessions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False, unique=True),
        sa.Column('staff_id', sa.Integer(), sa.ForeignKey('staff_users.id', ondelete='CASCADE'), nullable=False,
                  index=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    )
    op.create_table(
        'staff_login_failures',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('at', sa.DateTime(), nullable=False, index=True),
        sa.Column('address_key', sa.String(length=64), nullable=False, index=True),
        sa.Column('source_key', sa.String(length=64), nullable=False, index=True),
    )
    with op.batch_alter_table('staff_users') as batch:
        batch.drop_column('failed_logins')
        batch.drop_column('locked_until')


def downgrade() -> None:
    with op.batch_alter_table('staff_users') as batch:
        batch.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
    op.drop_table('staff_login_failures')
    op.drop_table('staff_sessions')
