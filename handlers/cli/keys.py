"""`flask keys migrate`: move the per-invoice keys into the store KEY_STORE_URL names, while the service runs."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from services import get_services, resolve_key_store_url
from store import KeyStoreUnavailable
from store.keystores.fallback import FallbackKeyStore
from store.keystores.moving import move_keys
from store.models import utcnow

group = AppGroup("keys", help="Per-invoice keys in the key store (KEY_STORE_URL).")

STEPS = ("set KEY_STORE_URL to the new store and KEY_STORE_FALLBACK_URL to the current one on every process (reading "
         "falls back to the old store, so downloads keep working), then run `flask --app app keys migrate`")


@group.command("migrate")
@click.option("--to", "to_url", help="confirm the store the keys move to: the KEY_STORE_URL every process uses")
def migrate(to_url: str | None) -> None:
    """Move every key from KEY_STORE_FALLBACK_URL to KEY_STORE_URL; downloads keep working throughout."""
    services = get_services()
    store = services.key_store
    if not isinstance(store, FallbackKeyStore):
        raise click.ClickException(f"KEY_STORE_FALLBACK_URL is not set: {STEPS}")
    if to_url and to_url != resolve_key_store_url(services.settings, services.instance_path):
        raise click.ClickException(f"--to names another store than KEY_STORE_URL ({store.primary.label}): {STEPS}")
    try:
        moved = move_keys(store.previous, store.primary, utcnow())
        left = len(store.previous.list_refs())
    except KeyStoreUnavailable as exc:
        raise click.ClickException(f"{exc}: nothing is lost, run the command again") from exc
    click.echo(f"{moved.moved} keys moved from {store.previous.label} to {store.primary.label}; "
               f"{moved.already_there} were there already, {moved.deleted_meanwhile} deleted meanwhile, "
               f"{moved.expired} expired ones destroyed; {left} left in the old store")
    if left == 0:
        click.echo("now unset KEY_STORE_FALLBACK_URL on every process")
