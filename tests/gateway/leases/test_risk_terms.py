"""The risk service leads for the members its configuration names: started before any member key was added (as under
``reponet up``), it begins a new term when a key is added, and then holds that member's risk lease, so a second
instance stands by for it rather than both acting for it unleased."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import httpx
from sqlalchemy import select

from gateway.leases.models import ServiceLease
from gateway.risk.cli import _lead_once
from gateway.risk.store import Store
from tests.gateway.conftest import Cast, World
from tests.scale.stack import wait_until


def test_a_member_added_later_starts_a_term_that_leases_it(world: World, cast: Cast, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"gateway_url": "https://gateway", "members": []}))
    made = cast.a_admin.post("/v1/clients", json={"kind": "api_key", "name": "risk", "scopes": ["risk:act"]})
    assert made.status_code == 201, made.text
    http: httpx.Client = world.client

    def run_term(record: list[bool]) -> None:
        store = Store(tmp_path / "risk.db")  # SQLite: opened on the thread that uses it, as the service does
        try:
            record.append(_lead_once(args, http, store, rounds, stop))
        finally:
            store.close()

    args = argparse.Namespace(config=str(config), interval=0.1)
    stop, rounds = threading.Event(), list[threading.Event]()
    outcome: list[bool] = []
    term = threading.Thread(target=run_term, args=(outcome,), daemon=True)
    try:
        term.start()
        wait_until("the first term leads for no one", lambda: rounds and term.is_alive(), 10)
        config.write_text(json.dumps({"gateway_url": "https://gateway", "members": [
            {"name": "a", "api_key": made.json()["secret"]}]}))  # fmt: skip
        term.join(timeout=15)
        assert not term.is_alive() and outcome == [False]  # the term ended for the new member list, nothing lost
        second = threading.Thread(target=run_term, args=([],), daemon=True)
        second.start()

        def leased() -> bool:
            with world.ctx.sessions() as session:
                row = session.scalars(select(ServiceLease).where(ServiceLease.kind == "risk")).first()
                return row is not None and row.org_id == cast.a_admin.user.organization_id

        wait_until("the new term holds member a's risk lease", leased, 15)
        stop.set()
        for current in rounds:
            current.set()
        second.join(timeout=15)
        assert not second.is_alive()
    finally:
        stop.set()
        for current in rounds:
            current.set()
