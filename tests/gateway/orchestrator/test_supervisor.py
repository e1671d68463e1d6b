"""The supervisor restarts a crashed child with the same command, pausing longer each time, and gives up on a
child that keeps crashing; real processes, short pauses."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from gateway.orchestrator.supervisor import ChildFailed, Restart, RestartPolicy, Supervisor

QUICK = RestartPolicy(max_restarts=2, window_seconds=60, first_pause=0.01, max_pause=0.05)


def test_pauses_double_up_to_the_maximum() -> None:
    policy = RestartPolicy(first_pause=1, max_pause=30)
    assert [policy.pause(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_child_that_keeps_crashing_is_given_up(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path / "run.json")
    log = tmp_path / "crash.log"
    supervisor.start("crasher", [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], log)
    restarts: list[Restart] = []
    with pytest.raises(ChildFailed) as failed:
        supervisor.watch(QUICK, restarts.append, interval=0.01)
    assert [(r.name, r.returncode, r.attempt) for r in restarts] == [("crasher", 3, 1), ("crasher", 3, 2)]
    assert failed.value.returncode == 3 and "not restarting it again" in str(failed.value)
    text = log.read_text()
    assert text.splitlines().count("boom") == 3  # the first run and two restarts
    assert text.count("reponet up: exited with status 3; restarting") == 2
    supervisor.stop_all()
    assert not (tmp_path / "run.json").exists()


def test_without_a_policy_the_first_exit_fails(tmp_path: Path) -> None:
    supervisor = Supervisor()
    supervisor.start("once", [sys.executable, "-c", "raise SystemExit(4)"], tmp_path / "once.log")
    with pytest.raises(ChildFailed) as failed:
        supervisor.watch(None, interval=0.01)
    assert failed.value.returncode == 4


def test_a_crashed_child_is_restarted_with_its_command_and_environment(tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    script = (
        "import os, pathlib, sys, time\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.write_text('x'); sys.exit(9)\n"
        "print('serving', os.environ['REPONET_PROBE'], flush=True)\n"
        "time.sleep(120)\n"
    )
    supervisor = Supervisor(tmp_path / "run.json")
    child = supervisor.start(
        "svc", [sys.executable, "-c", script], tmp_path / "svc.log", env={"REPONET_PROBE": "same-env", "PATH": ""}
    )
    first_pid = child.process.pid
    errors: list[BaseException] = []

    def watch() -> None:
        try:
            supervisor.watch(QUICK, interval=0.01)
        except BaseException as exc:  # recorded for the assertion below
            errors.append(exc)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while "serving same-env" not in (tmp_path / "svc.log").read_text():
        assert time.monotonic() < deadline, (tmp_path / "svc.log").read_text()
        time.sleep(0.05)
    assert child.process.pid != first_pid and child.process.poll() is None
    assert f'"svc": {child.process.pid}' in (tmp_path / "run.json").read_text()
    assert supervisor.stop_all() == ["svc"]
    thread.join(timeout=1)  # watch keeps looping on an empty list; the stopped child is not restarted
    assert child.process.poll() is not None and not errors


def test_supervisor_reports_a_child_that_exits(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "run.json")
    sup.start("short", [sys.executable, "-c", "print('bye'); raise SystemExit(3)"], tmp_path / "short.log")
    long = sup.start("long", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "long.log")
    assert (tmp_path / "run.json").exists()
    with pytest.raises(ChildFailed) as failed:
        sup.watch(interval=0.05)
    assert failed.value.name == "short" and failed.value.returncode == 3
    assert "bye" in failed.value.log_tail()
    assert sup.stop_all() == ["long", "short"]
    assert long.process.poll() is not None
    assert not (tmp_path / "run.json").exists()
