"""Child processes of `flask serve`: each in its own process group, stopped as a group, never left behind.

A child and whatever it forks (an RQ worker's work horse) share a process group, so one `killpg` reaches them
all. Ctrl-C in the terminal reaches only `flask serve` (the foreground group), which then stops the children
in order: SIGTERM, and SIGKILL for the whole group after a timeout. On Linux each child also gets SIGTERM
when `flask serve` itself dies without cleaning up (PR_SET_PDEATHSIG), for example after SIGKILL.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None) if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """Runs in a child between fork and exec: ask the kernel for SIGTERM when the parent goes away."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)  # the child leads its own group: pgid == pid


class Children:
    """The processes one `flask serve` started, stopped together in `stop` (also on errors, via `with`)."""

    def __init__(self) -> None:
        self._children: list[Child] = []

    def __iter__(self) -> Iterator[Child]:
        return iter(self._children)

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        process = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, process_group=0,
                                   preexec_fn=die_with_parent)
        child = Child(name, process)
        self._children.append(child)
        return child

    def first_exited(self) -> Child | None:
        return next((child for child in self._children if not child.running), None)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to every child, SIGKILL to each group after `timeout` (or at once once its leader is gone,
        for a forked grandchild left over), and reap them all."""
        for child in self._children:
            if child.running:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self._children:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %.0f s: killed", child.name, timeout)
            child.signal_group(signal.SIGKILL)
            child.process.wait()
        self._children.clear()
