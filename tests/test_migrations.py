"""Migration 0003 seals the numbers and pseudonymises the message ids of an existing database."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from store.crypto import ContentCipher, parse_master_key
from tests.conftest import CONTENT_KEY, TENANT_PHONE
from workers.cli import MIGRATIONS, upgrade_database

ROWS = [
    "INSERT INTO tenants (company, street, postal_code, city, country, iban, email, vat_rate, small_business, "
    "payment_terms_days, language, number_format, invoice_counter, phone, phone_hmac, verified, active, created_at) "
    f"VALUES ('A', 'B', '50667', 'K', 'DE', 'DE89370400440532013000', 'a@b.de', 19, false, 14, 'de', 'RE-{{NNNN}}', "
    f"0, '{TENANT_PHONE}', 'old-pseudonym', true, true, '2026-11-01')",
    "INSERT INTO inbound_messages (wa_message_id, tenant_id, kind, state, attempts, received_at, updated_at) "
    "VALUES ('wamid.HBgNNDkxNzYxMjM0NTY3OBUCABIYFjNFQjBD', 1, 'voice', 'done', 1, '2026-11-01', '2026-11-01')",
]


def test_existing_rows_are_sealed_and_the_upgrade_refuses_to_run_without_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0002")
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement))

    with pytest.raises(RuntimeError, match="CONTENT_KEY"):
        upgrade_database(url)  # refused before any change: the same upgrade with the key still works
    cipher = ContentCipher(parse_master_key(CONTENT_KEY), tmp_path / "keys")
    upgrade_database(url, cipher)

    with engine.connect() as conn:
        sealed, pseudonym = conn.execute(text("SELECT phone_sealed, phone_hmac FROM tenants")).one()
        message = conn.execute(text("SELECT wa_message_hmac FROM inbound_messages")).scalar_one()
    assert cipher.open_field(sealed, f"phone/{pseudonym}") == TENANT_PHONE
    assert message == cipher.pseudonym("wamid.HBgNNDkxNzYxMjM0NTY3OBUCABIYFjNFQjBD")
    assert TENANT_PHONE.lstrip("+").encode() not in (tmp_path / "old.db").read_bytes()
    engine.dispose()
