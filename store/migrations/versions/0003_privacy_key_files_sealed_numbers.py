"""privacy: sealed phone numbers and message ids, key files, retention per tenant, export links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:00:00

Existing phone numbers and WhatsApp message ids are sealed/pseudonymised with the cipher that
`flask db upgrade` hands in (config.attributes["cipher"]); without it, rows holding them stop the upgrade.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _cipher(bind: sa.Connection, table: str) -> object:
    cipher = op.get_context().config.attributes.get("cipher") if op.get_context().config else None
    if cipher is None and bind.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar():
        raise RuntimeError("existing rows must be sealed: run `flask db upgrade` with CONTENT_KEY set")
    return cipher


def upgrade() -> None:
    bind = op.get_bind()
    # checked before any DDL: SQLite cannot roll back a half-done migration
    cipher = _cipher(bind, 'tenants') or _cipher(bind, 'inbound_messages')
    if bind.dialect.name == 'sqlite':
        bind.execute(sa.text("PRAGMA secure_delete = ON"))  # the dropped plain columns' pages are zeroed
    with op.batch_alter_table('tenants') as batch:
        batch.add_column(sa.Column('phone_sealed', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('retention_days', sa.Integer(), nullable=False, server_default='30'))
        batch.add_column(sa.Column('delete_requested_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('offboarded_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('otp_challenges') as batch:
        batch.add_column(sa.Column('phone_sealed', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('inbound_messages') as batch:
        batch.add_column(sa.Column('wa_message_hmac', sa.String(length=64), nullable=True))
    if cipher is not None:
        for table in ('tenants', 'otp_challenges'):
            for row_id, phone, pseudonym in bind.execute(sa.text(f"SELECT id, phone, phone_hmac FROM {table}")):
                sealed = cipher.seal_field(phone, f"phone/{pseudonym}")
                bind.execute(sa.text(f"UPDATE {table} SET phone_sealed = :s WHERE id = :i"), {"s": sealed, "i": row_id})
        for row_id, wamid in bind.execute(sa.text("SELECT id, wa_message_id FROM inbound_messages")).all():
            bind.execute(sa.text("UPDATE inbound_messages SET wa_message_hmac = :h, body_sealed = NULL "
                                 "WHERE id = :i"), {"h": cipher.pseudonym(wamid), "i": row_id})
    with op.batch_alter_table('tenants') as batch:
        batch.drop_column('phone')
    with op.batch_alter_table('otp_challenges') as batch:
        batch.drop_column('phone')
        batch.alter_column('phone_sealed', existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table('inbound_messages') as batch:
        batch.drop_column('wa_message_id')
        batch.alter_column('wa_message_hmac', existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint('uq_inbound_messages_wa_message_hmac', ['wa_message_hmac'])
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
    bind.execute(sa.text("UPDATE invoices SET expires_at = created_at"))  # legacy rows: purged on the next sweep
    with op.batch_alter_table('invoices') as batch:
        batch.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)
        batch.create_index('ix_invoices_expires_at', ['expires_at'])
    with op.batch_alter_table('data_keys') as batch:
        batch.add_column(sa.Column('key_ref', sa.String(length=60), nullable=True))
    with op.batch_alter_table('login_links') as batch:
        batch.add_column(sa.Column('purpose', sa.String(length=32), nullable=False, server_default='login'))


def downgrade() -> None:
    raise NotImplementedError("0003 seals personal data; restore a backup instead of downgrading")
