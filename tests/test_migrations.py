"""Migrations of an existing database: 0003 seals the numbers and pseudonymises the message ids, 0005 normalises
the logos."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from PIL import Image
from sqlalchemy import create_engine, text

from store.crypto import ContentCipher, parse_master_key
from store.db import MIGRATIONS, upgrade_database
from tests.helpers import CONTENT_KEY, TENANT_PHONE

ROWS = [
    "INSERT INTO tenants (company, street, postal_code, city, country, iban, email, vat_rate, small_business, "
    "payment_terms_days, language, number_format, invoice_counter, phone, phone_hmac, verified, active, created_at) "
    f"VALUES ('A', 'B', '50667', 'K', 'DE', 'DE89370400440532013000', 'a@b.de', 19, false, 14, 'de', 'RE-{{NNNN}}', "
    f"0, '{TENANT_PHONE}', 'old-pseudonym', true, true, '2026-11-01')",
    "INSERT INTO inbound_messages (wa_message_id, tenant_id, kind, state, attempts, received_at, updated_at) "
    "VALUES ('wamid.HBgNNDkxNzYxMjM0NTY3OBUCABIYFjNFQjBD', 1, 'voice', 'done', 1, '2026-11-01', '2026-11-01')",
]
TENANT_AT_0004 = (
    "INSERT INTO tenants (company, street, postal_code, city, country, iban, email, vat_rate, small_business, "
    "payment_terms_days, language, number_format, invoice_counter, phone_hmac, verified, active, created_at, logo, "
    "logo_mime) VALUES ('A', 'B', '50667', 'K', 'DE', 'DE89370400440532013000', 'a@b.de', 19, false, 14, 'de', "
    "'RE-{NNNN}', 0, :hmac, true, true, '2026-11-01', :logo, :mime)")


def create_old_database(tmp_path: Path, revision: str) -> str:
    """A SQLite database migrated up to `revision` only; its URL."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, revision)
    return url


def test_existing_rows_are_sealed_and_the_upgrade_refuses_to_run_without_the_key(tmp_path: Path) -> None:
    url = create_old_database(tmp_path, "0002")
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


def test_existing_logos_are_normalised_and_an_unreadable_one_is_left_as_it_was(tmp_path: Path) -> None:
    url = create_old_database(tmp_path, "0004")
    upload = Image.new("RGBA", (1200, 500), (0, 0, 0, 0))  # transparent, a blue block on the right
    upload.paste((0, 90, 200, 255), (600, 0, 1200, 500))
    buffer = io.BytesIO()
    upload.save(buffer, "PNG")
    broken = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100)  # once accepted for its first bytes
    engine = create_engine(url)
    with engine.begin() as conn:
        for n, logo in enumerate((buffer.getvalue(), broken, None)):
            conn.execute(text(TENANT_AT_0004), {"hmac": f"pseudonym-{n}", "logo": logo,
                                                "mime": "image/jpeg" if logo is broken else "image/png"})

    upgrade_database(url)

    with engine.connect() as conn:
        rows = conn.execute(text("SELECT logo, logo_mime FROM tenants ORDER BY id")).all()
    engine.dispose()
    assert rows[1:] == [(broken, "image/jpeg"), (None, "image/png")]
    logo = Image.open(io.BytesIO(rows[0][0]))
    assert rows[0][1] == "image/jpeg" and logo.format == "JPEG" and logo.mode == "RGB" and logo.size == (708, 295)
    white, blue = logo.getpixel((100, 150)), logo.getpixel((600, 150))
    assert isinstance(white, tuple) and min(white) >= 250 and isinstance(blue, tuple) and blue[2] > 190
