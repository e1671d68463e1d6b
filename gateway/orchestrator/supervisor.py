"""Child processes of ``reponet up``: start with logs to files, wait for readiness, watch, stop in reverse order.

Children run in their own session, so a Ctrl-C at the terminal reaches ``up`` alone; ``up`` then stops them in
reverse start order (gateway before node) with SIGINT, and SIGKILL after a grace period.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15.0


class ChildFailed(Exception):
    """A child exited on its own (or never became ready)."""

    def __init__(self, name: str, returncode: int | None, log: Path, reason: str) -> None:
        super().__init__(f"{name} {reason}")
        self.name = name
        self.returncode = returncode
        self.log = log
        self.reason = reason

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Terminated(Exception):
    """SIGTERM or SIGHUP reached ``up``; handled like Ctrl-C."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


class Supervisor:
    """``pid_file`` (if given) lists the running processes, ``up`` included, as JSON; removed when all stopped."""

    def __init__(self, pid_file: Path | None = None) -> None:
        self.children: list[Child] = []
        self.pid_file = pid_file

    def _write_pids(self) -> None:
        if self.pid_file is None:
            return
        if not self.children:
            self.pid_file.unlink(missing_ok=True)
            return
        pids = {"up": os.getpid(), **{c.name: c.process.pid for c in self.children}}
        self.pid_file.write_text(json.dumps(pids) + "\n")

    def start(self, name: str, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> Child:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as handle:
            handle.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} {' '.join(argv)}\n".encode())
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        child = Child(name, process, log)
        self.children.append(child)
        self._write_pids()
        logger.info("started %s (pid %d), log %s", name, process.pid, log)
        return child

    def check(self) -> None:
        """Raise :class:`ChildFailed` if any child has exited."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise ChildFailed(child.name, code, child.log, f"exited with status {code}")

    def wait_until(self, child: Child, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.check()
            try:
                if ready():
                    return
            except Exception as exc:  # not up yet: connection refused, TLS not ready, ...
                logger.debug("%s not ready: %s", child.name, exc)
            if time.monotonic() > deadline:
                raise ChildFailed(child.name, None, child.log, f"did not become ready ({what}) in {timeout:.0f} s")
            time.sleep(0.2)

    def watch(self, interval: float = 0.5) -> None:
        """Block until a child exits (raises :class:`ChildFailed`) or a signal interrupts."""
        while True:
            self.check()
            time.sleep(interval)

    def stop(self, child: Child) -> None:
        if child.process.poll() is None:
            try:
                os.killpg(child.process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            try:
                child.process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in %.0f s: killing it", child.name, STOP_GRACE_SECONDS)
                try:
                    os.killpg(child.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                child.process.wait(timeout=5)
        if child in self.children:
            self.children.remove(child)
        self._write_pids()

    def stop_all(self) -> list[str]:
        stopped = []
        for child in reversed(list(self.children)):
            self.stop(child)
            stopped.append(child.name)
        return stopped


def install_signal_handlers() -> None:
    """SIGINT, SIGTERM and SIGHUP unwind, so the children are always stopped."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)
    # Started in the background by a shell, a process inherits SIGINT ignored: take it back, so Ctrl-C and
    # ``kill -INT`` always stop the network.
    signal.signal(signal.SIGINT, signal.default_int_handler)
