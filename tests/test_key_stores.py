"""The key store chosen by KEY_STORE_URL (file, Redis, PostgreSQL) keeps the same promises: keys are kept, destroyed
at once, purged after their expiry hour; a database copy taken before a deletion cannot decrypt the deleted content;
a missing key answers 410. Production refuses anything that lives on one machine."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from services import get_services
from store import ContentGone
from store.keystores import open_key_store
from store.keystores.base import compute_expiry, make_ref
from store.models import DataKey, DeletionReceipt, DeletionTrigger, utcnow
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import (
    IssueByVoice,
    copy_sealed_rows,
    decrypt_backup,
    empty_key_store,
    link_paths,
    load_cases,
)
from workers.retention import purge_content

CASES = {c["id"]: c for c in load_cases()}
STORES = ["file", "redis", "postgresql"]


@pytest.fixture(params=STORES)
def key_store_url(request: pytest.FixtureRequest, tmp_path: Path, redis_key_store_url: str,
                  postgres_key_store_url: str) -> Iterator[str]:
    url = {"file": (tmp_path / "key-store").as_uri(), "redis": redis_key_store_url,
           "postgresql": postgres_key_store_url}[request.param]
    empty_key_store(url)
    yield url
    empty_key_store(url)


@pytest.fixture
def app_env(app_env: dict[str, str], key_store_url: str) -> dict[str, str]:
    return {**app_env, "KEY_STORE_URL": key_store_url}


def readable(app: Flask, keys: list[tuple[str, bytes, str | None]], blobs: list[tuple[str, str, bytes]]) -> set[str]:
    """The invoices of a database copy that the live system can still decrypt."""
    result = set()
    for key in keys:
        try:
            decrypt_backup(app, [key], [blob for blob in blobs if blob[0] == key[0]])
        except ContentGone:
            continue
        result.add(key[0])
    return result


def test_a_store_keeps_replaces_destroys_and_purges_keys(key_store_url: str) -> None:
    store = open_key_store(key_store_url)
    now = utcnow()
    soon, later = make_ref(str(uuid.uuid4()), now), make_ref(str(uuid.uuid4()), now + dt.timedelta(days=3))
    assert store.put(soon, b"a" * 40, compute_expiry(soon)) and store.get(soon) == b"a" * 40
    assert not store.put(soon, b"b" * 40, compute_expiry(soon), replace=False) and store.get(soon) == b"a" * 40
    assert store.put(soon, b"c" * 40, compute_expiry(soon)) and store.get(soon) == b"c" * 40
    assert store.put(later, b"d" * 40, compute_expiry(later))
    assert sorted(store.list_refs()) == sorted([soon, later])
    assert store.purge_expired(now) == 0
    assert store.purge_expired(now + dt.timedelta(hours=2)) == 1  # the sweep's clock, past `soon`'s hour
    assert store.get(soon) is None and store.get(later) == b"d" * 40
    assert store.delete(later) and not store.delete(later)
    assert store.get(later) is None and store.list_refs() == []
    store.close()


def test_a_database_copy_cannot_decrypt_content_deleted_after_it(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp) -> None:
    services = get_services(app)
    issue_by_voice(CASES["waschbecken"])
    issue_by_voice(CASES["maler"])
    downloaded, kept = link_paths(whatsapp_fake)
    keys, blobs = copy_sealed_rows(app)  # the backup, taken while both are pending
    assert len(services.key_store.list_refs()) == 2
    assert len(readable(app, keys, blobs)) == 2  # the copy decrypts now

    assert client.post(downloaded).status_code == 200
    assert len(readable(app, keys, blobs)) == 1  # the downloaded one is gone from the copy too
    assert purge_content(services, now=utcnow() + dt.timedelta(days=31)) == 1  # retention takes the other
    assert readable(app, keys, blobs) == set()
    assert services.key_store.list_refs() == []
    assert client.post(kept).status_code == 404  # its link expired with it
    with services.db.session() as session:
        assert sorted(r.trigger for r in session.scalars(select(DeletionReceipt))) == [
            DeletionTrigger.DOWNLOAD, DeletionTrigger.RETENTION]


def test_an_invoice_whose_key_is_gone_answers_410(
        app: Flask, client: FlaskClient, tenant: int, issue_by_voice: IssueByVoice,
        whatsapp_fake: FakeWhatsApp) -> None:
    services = get_services(app)
    issue_by_voice(CASES["waschbecken"])
    [path] = link_paths(whatsapp_fake)
    with services.db.session() as session:
        [ref] = session.scalars(select(DataKey.key_ref)).all()
    assert ref is not None and services.key_store.delete(ref)  # as a database restored from a backup finds it
    response = client.post(path)
    assert response.status_code == 410 and "Inhalte gelöscht" in response.get_data(as_text=True)
