"""`flask keys migrate` moves the keys from one store to another (here: key files to Redis) while downloads keep
working: before the switch, during the move (reading falls back to the old store), after it, and once the old store
is forgotten. A key deleted or read while it is being moved is neither resurrected nor missed."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker

from app import create_app
from services import get_services
from store.keystores import open_key_store
from store.keystores.base import KeyStore, compute_expiry, make_ref
from store.keystores.fallback import FallbackKeyStore
from store.keystores.moving import Moved, move_keys
from store.models import utcnow
from tests.fakes.whatsapp import FakeWhatsApp
from tests.helpers import IssueByVoice, Press, SendVoiceNote, empty_key_store, link_paths, load_cases

CASES = {c["id"]: c for c in load_cases()}


def another_app(app_env: dict[str, str], instance: Path, **overrides: str) -> Flask:
    config: dict[str, Any] = {k.lower(): v for k, v in app_env.items() if k != "JOB_RETRY_INTERVALS"}
    return create_app({**config, **overrides, "instance_path": str(instance)})


def run_worker_of(app: Flask) -> None:
    services = get_services(app)
    with app.app_context():
        SimpleWorker([services.queue], connection=services.redis, log_job_description=False).work(
            burst=True, with_scheduler=False)


def key_files(app_env: dict[str, str]) -> list[Path]:
    return sorted(Path(app_env["KEY_DIR"]).glob("*.key"))


def test_keys_move_from_key_files_to_redis_while_downloads_keep_working(
        app: Flask, client: FlaskClient, app_env: dict[str, str], tenant: int, issue_by_voice: IssueByVoice,
        send_voice_note: SendVoiceNote, press: Press, whatsapp_fake: FakeWhatsApp, redis_key_store_url: str,
        tmp_path: Path) -> None:
    empty_key_store(redis_key_store_url)
    issue_by_voice(CASES["waschbecken"])  # today's default: key files in KEY_DIR
    issue_by_voice(CASES["maler"])
    first, second = link_paths(whatsapp_fake)
    assert len(key_files(app_env)) == 2

    # every process: KEY_STORE_URL is the new store, KEY_STORE_FALLBACK_URL the old one
    moving = another_app(app_env, tmp_path / "moving", key_store_url=redis_key_store_url,
                         key_store_fallback_url=Path(app_env["KEY_DIR"]).as_uri())
    assert moving.test_client().post(first).status_code == 200  # read from the old store, deleted in both
    assert len(key_files(app_env)) == 1
    send_voice_note(CASES["steckdosen"])
    run_worker_of(moving)
    press("Erstellen")
    run_worker_of(moving)  # a new invoice: its key goes to the new store only
    third = link_paths(whatsapp_fake)[-1]
    assert len(key_files(app_env)) == 1 and len(get_services(moving).key_store.list_refs()) == 2

    result = moving.test_cli_runner().invoke(args=["keys", "migrate", "--to", redis_key_store_url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"1 keys moved from file://{app_env['KEY_DIR']} to ")
    assert "0 were there already, 0 deleted meanwhile, 0 expired ones destroyed; 0 left in the old store" in (
        result.output)
    assert "now unset KEY_STORE_FALLBACK_URL" in result.output and key_files(app_env) == []
    assert moving.test_client().post(second).status_code == 200

    moved = another_app(app_env, tmp_path / "moved", key_store_url=redis_key_store_url)  # the fallback unset
    refused = moved.test_cli_runner().invoke(args=["keys", "migrate"])
    assert refused.exit_code == 1 and "KEY_STORE_FALLBACK_URL is not set" in refused.output
    response = moved.test_client().post(third)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert get_services(moved).key_store.list_refs() == [] and key_files(app_env) == []
    for other in (moving, moved):
        get_services(other).close()


class Meanwhile:
    """A key store that lets another process act once, right after a given call of the move (dependency injection
    of the interface the move takes, to pin down an interleaving)."""

    def __init__(self, store: KeyStore, after: str, action: Callable[[], object]) -> None:
        self.store, self.after, self.action, self.label = store, after, action, store.label

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)
        if name != self.after:
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            action, self.action = self.action, lambda: None
            action()
            return result

        return call


def test_a_key_deleted_or_read_while_it_moves_is_neither_resurrected_nor_missed(
        tmp_path: Path, redis_key_store_url: str) -> None:
    empty_key_store(redis_key_store_url)
    old, new = open_key_store((tmp_path / "old").as_uri()), open_key_store(redis_key_store_url)
    now = utcnow()
    deleted, read = make_ref(str(uuid.uuid4()), now + dt.timedelta(days=1)), make_ref(str(uuid.uuid4()), now)
    for ref in (deleted, read):
        old.put(ref, b"k" * 40, compute_expiry(ref))

    # a download deletes the key (old store first, then the new one) after the move copied it, before it removed it
    service = FallbackKeyStore(new, old)
    copying = Meanwhile(new, "put", lambda: service.delete(deleted))
    assert move_keys(Meanwhile(old, "list_refs", lambda: old.delete(read)), copying, now) == Moved(
        deleted_meanwhile=2)  # `read` is deleted before its turn, `deleted` right after its copy
    assert new.list_refs() == [] and old.list_refs() == []

    # a reader misses the key in the new store, then the move copies it there and removes it from the old one
    old.put(read, b"r" * 40, compute_expiry(read))
    reader = FallbackKeyStore(Meanwhile(new, "get", lambda: move_keys(old, new, now)), old)
    assert reader.get(read) == b"r" * 40
    assert new.list_refs() == [read] and old.list_refs() == []
    for store in (old, new):
        store.close()
