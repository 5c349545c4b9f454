"""KEY_STORE_URL=file:///path: one file per key in a directory (the default: instance/keys). One machine only."""
from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from store import KeyStoreUnavailable
from store.keystores.base import REF, check_ref, is_expired

logger = logging.getLogger(__name__)

STALE_TEMP_SECONDS = 3600
SUFFIX = ".key"


@contextmanager
def map_errors(label: str) -> Iterator[None]:
    """A file system error other than a missing file (a mount gone, permissions) is the store being unavailable."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyStoreUnavailable(label) from exc


class FileKeyStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.label = f"file://{directory}"

    def _path(self, ref: str) -> Path:
        return self.directory / f"{check_ref(ref)}{SUFFIX}"

    def put(self, ref: str, wrapped: bytes, expires_at: dt.datetime, replace: bool = True) -> bool:
        """Write durably (temp file, fsync, rename), readable by the owner only; the name carries the expiry."""
        path = self._path(ref)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        with map_errors(self.label):
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, wrapped)
                os.fsync(fd)
            finally:
                os.close(fd)
            if replace:
                os.replace(temp, path)
                return True
            try:
                os.link(temp, path)  # atomic: fails when the name exists
            except FileExistsError:
                return False
            finally:
                os.unlink(temp)
            return True

    def get(self, ref: str) -> bytes | None:
        path = self._path(ref)
        try:
            with map_errors(self.label):
                return path.read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, ref: str) -> bool:
        """Overwrite and unlink the file; True if it existed."""
        path = self._path(ref)
        try:
            with map_errors(self.label):
                size = path.stat().st_size
                with open(path, "r+b") as handle:
                    handle.write(os.urandom(size))
                    handle.flush()
                    os.fsync(handle.fileno())
                path.unlink()
        except FileNotFoundError:
            return False
        return True

    def purge_expired(self, now: dt.datetime) -> int:
        """Destroy every key whose expiry hour has passed, from the file names alone; drop interrupted writes."""
        if not self.directory.is_dir():
            return 0
        destroyed = 0
        with map_errors(self.label):
            for entry in os.scandir(self.directory):
                ref = entry.name.removesuffix(SUFFIX)
                if entry.name.endswith(SUFFIX) and REF.match(ref):
                    if is_expired(ref, now) and self.delete(ref):
                        destroyed += 1
                elif entry.name.endswith(".tmp") and entry.stat().st_mtime < now.timestamp() - STALE_TEMP_SECONDS:
                    os.unlink(entry.path)  # an interrupted write: never referenced by a committed row
        return destroyed

    def list_refs(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        with map_errors(self.label):
            names = [entry.name.removesuffix(SUFFIX) for entry in os.scandir(self.directory)]
        return [name for name in names if REF.match(name)]

    def ping(self) -> None:
        with map_errors(self.label):
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not os.access(self.directory, os.W_OK | os.X_OK):
                raise KeyStoreUnavailable(self.label)

    def close(self) -> None:
        return None
