"""outbound replies: each reply of a conversation turn recorded before it is sent, settled by WhatsApp's answer or
status webhook, so that a retried turn never sends it twice

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'outbound_replies',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('inbound_id', sa.Integer(), sa.ForeignKey('inbound_messages.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('slot', sa.String(length=20), nullable=False),
        sa.Column('state', sa.Enum('pending', 'sent', name='outboundstate', native_enum=False, length=32),
                  nullable=False),
        sa.Column('sends', sa.Integer(), nullable=False),
        sa.Column('wamid_sealed', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.UniqueConstraint('inbound_id', 'slot'),
    )


def downgrade() -> None:
    op.drop_table('outbound_replies')
