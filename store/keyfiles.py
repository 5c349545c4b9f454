"""Key-encryption keys kept outside the database, one file per invoice, named by its expiry hour.

A data key in the database is wrapped by a key that lives only here. Deleting the file makes the
invoice's content unreadable from every copy of the database, backups included. Because a file's
name carries its expiry hour, the sweep destroys expired keys from the directory listing alone,
even if the database was restored from an old backup.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
from pathlib import Path

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

logger = logging.getLogger(__name__)

HOUR_FORMAT = "%Y%m%d%H"
STALE_TEMP_SECONDS = 3600
KEY_FILE = re.compile(r"^(\d{10})-([0-9a-f-]{36})\.key$")


class KeyFiles:
    """One directory of wrapped per-record keys; `master` wraps each file's key."""

    def __init__(self, directory: Path, master: bytes) -> None:
        self.directory = directory
        self._master = master

    @staticmethod
    def make_ref(record_id: str, expires_at: dt.datetime) -> str:
        """The key's name: its expiry hour (it is destroyed once that hour is over), then the record id."""
        return f"{expires_at.astimezone(dt.UTC):{HOUR_FORMAT}}-{record_id}"

    def _path(self, ref: str) -> Path:
        if not KEY_FILE.match(f"{ref}.key"):
            raise ValueError("malformed key reference")
        return self.directory / f"{ref}.key"

    def create(self, ref: str, key: bytes) -> None:
        """Write the wrapped key durably (temp file, fsync, rename), readable by the owner only."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._path(ref)
        temp = path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, aes_key_wrap(self._master, key))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)

    def load(self, ref: str) -> bytes | None:
        """The key, or None when it was destroyed (or never written)."""
        try:
            wrapped = self._path(ref).read_bytes()
        except FileNotFoundError:
            return None
        try:
            return aes_key_unwrap(self._master, wrapped)
        except InvalidUnwrap:
            logger.error("key file %s does not unwrap with CONTENT_KEY", ref.split("-", 1)[0])
            return None

    def destroy(self, ref: str) -> bool:
        """Overwrite and unlink the key file; True if it existed."""
        path = self._path(ref)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        with open(path, "r+b") as handle:
            handle.write(os.urandom(size))
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        return True

    def destroy_expired(self, now: dt.datetime) -> int:
        """Destroy every key whose expiry hour has passed; works from the file names alone."""
        if not self.directory.is_dir():
            return 0
        current = f"{now.astimezone(dt.UTC):{HOUR_FORMAT}}"
        destroyed = 0
        for entry in os.scandir(self.directory):
            match = KEY_FILE.match(entry.name)
            if match and match.group(1) < current and self.destroy(entry.name.removesuffix(".key")):
                destroyed += 1
            elif entry.name.endswith(".tmp") and entry.stat().st_mtime < now.timestamp() - STALE_TEMP_SECONDS:
                os.unlink(entry.path)  # an interrupted write: never referenced by a committed row
        if destroyed:
            logger.info("key files: %d expired keys destroyed", destroyed)
        return destroyed
