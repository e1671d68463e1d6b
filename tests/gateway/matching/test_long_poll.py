"""The matching service's long poll of ``/v1/gc/instructions``: an instruction queued while it waits is answered at
once (woken by the commit, not found by a later poll), and an empty wait ends empty at its ``wait``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.access.permissions import Permission
from gateway.clients.operator_keys import grant_operator_key
from gateway.matching import instructions, service_routes
from gateway.workers import start_waiters_doorbell
from tests.gateway.conftest import Cast, World

WAIT = 20.0


@pytest.fixture
def service_key(world: World, cast: Cast) -> str:
    with world.ctx.sessions.begin() as session:
        key = grant_operator_key(
            session, operator_email=cast.admin.user.email, days=1, name="matching service",
            scopes=[Permission.MATCHING_RUN.value], replaces=None,
        )  # fmt: skip
    return key.secret


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def _answered_at_once(world: World, service_key: str, waiting: Callable[[], bool]) -> None:
    """A long poll in a thread; once ``waiting``, an instruction is queued: it is the answer, well before ``WAIT``."""
    answers: list[httpx.Response] = []

    def poll() -> None:
        answers.append(
            world.client.get("/v1/gc/instructions", params={"after": 0, "wait": WAIT},
                             headers={"X-API-Key": service_key})
        )  # fmt: skip

    waiter = threading.Thread(target=poll)
    started = time.monotonic()
    waiter.start()
    _until(waiting)  # it read an empty book and waits
    with world.ctx.sessions.begin() as session:
        sequence = instructions.add(session, action="end_session").sequence
    waiter.join(timeout=WAIT + 10)
    assert answers and answers[0].status_code == 200, answers and answers[0].text
    assert [item["sequence"] for item in answers[0].json()["data"]] == [sequence]
    assert time.monotonic() - started < WAIT / 2


def test_an_instruction_queued_during_the_wait_is_answered_at_once(
    world: World, service_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_routes, "WAIT_POLL_SECONDS", WAIT)  # only the commit's ring can answer in time
    _answered_at_once(world, service_key, lambda: instructions.QUEUED.listeners() > 0)


def test_an_instruction_queued_by_another_process_rings_this_workers_long_poll(
    world: World, service_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HTTP worker of several listens on the instructions doorbell; any process's commit rings it (its sessions
    are made by ``build_context``, which sets the announcement)."""
    hub = world.client.app.state.hub  # type: ignore[attr-defined]
    stop = threading.Event()
    threads = start_waiters_doorbell(hub, world.ctx, stop)
    try:
        assert hub.extra.get(instructions.RUNG_HERE)  # rung from now on: the poll may be slow
        monkeypatch.setattr(service_routes, "RUNG_WAIT_POLL_SECONDS", WAIT)  # only the doorbell can answer in time
        # another process: its commit announces through the doorbell only (its own QUEUED is not this process's)
        monkeypatch.setattr(instructions, "_ring", lambda session: session.info[instructions.ANNOUNCE]())
        reads: list[int] = []
        read = service_routes._after

        def counted(*args: Any) -> Any:
            found = read(*args)
            reads.append(len(found))  # after the read: an instruction committed from now on is the doorbell's
            return found

        monkeypatch.setattr(service_routes, "_after", counted)
        _answered_at_once(world, service_key, lambda: len(reads) > 0 and instructions.QUEUED.listeners() > 0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


def test_a_wait_with_nothing_queued_ends_empty_after_its_wait(world: World, service_key: str) -> None:
    started = time.monotonic()
    answer = world.client.get(
        "/v1/gc/instructions", params={"after": 0, "wait": 0.3}, headers={"X-API-Key": service_key}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"data": [], "next_cursor": None}
    assert time.monotonic() - started >= 0.3
    assert instructions.QUEUED.listeners() == 0


def test_a_members_key_cannot_read_the_instructions(world: World, cast: Cast) -> None:
    with world.ctx.sessions.begin() as session:
        instructions.add(session, action="end_session")
    started = time.monotonic()
    answer = cast.a_admin.get("/v1/gc/instructions", params={"wait": WAIT})
    assert answer.status_code == 403, answer.text
    assert time.monotonic() - started < WAIT / 2  # refused before any waiting
    assert instructions.QUEUED.listeners() == 0


def test_credit_limits_and_releases_read_as_the_service_takes_them(world: World, service_key: str) -> None:
    a, b = world.orgs["a"], world.orgs["b"]
    with world.ctx.sessions.begin() as session:
        instructions.set_credit_limit(
            session, organization_id=a, counterparty_id=b, limit_units=1_000, book_units=1_000
        )
        instructions.add(
            session, action="release", payload={"lender": str(b), "borrower": str(a), "amount_units": "250"}
        )
    answer = world.client.get("/v1/gc/instructions", params={"after": 0}, headers={"X-API-Key": service_key})
    assert answer.status_code == 200, answer.text
    limit, release = answer.json()["data"]
    assert (limit["action"], limit["credit"]) == (
        "credit_limit",
        {"member": str(a), "counterparty": str(b), "limit_units": "1000"},
    )
    assert (release["action"], release["release"]) == (
        "release",
        {"lender": str(b), "borrower": str(a), "amount_units": "250"},
    )
