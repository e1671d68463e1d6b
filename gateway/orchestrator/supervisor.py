"""Child processes of ``reponet up``: start with logs to files, wait for readiness, watch, restart, stop.

Children run in their own session, so a Ctrl-C at the terminal reaches ``up`` alone; ``up`` then stops them in
reverse start order (gateway before node) with SIGINT, and SIGKILL after a grace period. While watching, a child
that exits on its own is started again with the same command after a pause that doubles with each crash; only a
child that keeps crashing (:class:`RestartPolicy`) stops the network, since a node or gateway that is down leaves
every member without settlement.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
    argv: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    crashes: list[float] = field(default_factory=list)
    stopping: bool = False


@dataclass(frozen=True)
class RestartPolicy:
    """At most ``max_restarts`` in ``window_seconds`` per child; pauses from ``first_pause``, doubling to ``max_pause``.

    A child that crashes more often than that is failing for a reason a restart does not fix (a corrupt data
    directory, a port taken, a bad configuration): ``up`` then stops and says why rather than looping forever.
    """

    max_restarts: int = 5
    window_seconds: float = 300.0
    first_pause: float = 1.0
    max_pause: float = 30.0

    def pause(self, recent_crashes: int) -> float:
        return min(self.max_pause, self.first_pause * 2.0 ** max(0, recent_crashes - 1))


@dataclass(frozen=True)
class Restart:
    """One restart, as ``watch`` reports it (to the console and the log)."""

    name: str
    returncode: int
    pause: float
    attempt: int
    pid: int


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
        child = Child(name, _spawn(argv, log, env), log, tuple(argv), env)
        self.children.append(child)
        self._write_pids()
        logger.info("started %s (pid %d), log %s", name, child.process.pid, log)
        return child

    def restart(self, child: Child) -> None:
        """Start ``child`` again with the command and environment it was first started with."""
        child.process = _spawn(child.argv, child.log, child.env)
        self._write_pids()
        logger.info("restarted %s (pid %d)", child.name, child.process.pid)

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

    def watch(
        self,
        policy: RestartPolicy | None = None,
        report: Callable[[Restart], None] | None = None,
        interval: float = 0.5,
    ) -> None:
        """Block until a signal interrupts, restarting children that exit on their own.

        Without a policy, the first exit raises :class:`ChildFailed`. With one, a child is restarted after its
        pause until it has crashed more than ``policy.max_restarts`` times within the window; then
        :class:`ChildFailed` says so. ``report`` hears of each restart before its pause.
        """
        while True:
            for child in list(self.children):
                code = child.process.poll()
                if code is None or child.stopping:
                    continue
                if policy is None:
                    raise ChildFailed(child.name, code, child.log, f"exited with status {code}")
                now = time.monotonic()
                child.crashes = [t for t in child.crashes if now - t < policy.window_seconds] + [now]
                if len(child.crashes) > policy.max_restarts:
                    raise ChildFailed(
                        child.name,
                        code,
                        child.log,
                        f"exited with status {code}, its {len(child.crashes)}th crash in "
                        f"{policy.window_seconds:.0f} s; not restarting it again",
                    )
                pause = policy.pause(len(child.crashes))
                logger.warning("%s exited with status %d: restarting it in %.0f s", child.name, code, pause)
                _note(child.log, f"exited with status {code}; restarting in {pause:.0f} s")
                if report is not None:
                    report(Restart(child.name, code, pause, len(child.crashes), child.process.pid))
                time.sleep(pause)
                self.restart(child)
            time.sleep(interval)

    def stop(self, child: Child) -> None:
        child.stopping = True
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


def _spawn(argv: Sequence[str], log: Path, env: Mapping[str, str] | None) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as handle:
        handle.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} {' '.join(argv)}\n".encode())
        handle.flush()
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )


def _note(log: Path, text: str) -> None:
    """A line from ``up`` itself in a child's log, so the log says why the process restarted."""
    try:
        with open(log, "a") as handle:
            handle.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} reponet up: {text}\n")
    except OSError:
        pass


def install_signal_handlers() -> None:
    """SIGINT, SIGTERM and SIGHUP unwind, so the children are always stopped."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)
    # Started in the background by a shell, a process inherits SIGINT ignored: take it back, so Ctrl-C and
    # ``kill -INT`` always stop the network.
    signal.signal(signal.SIGINT, signal.default_int_handler)
