"""Exactly once through crashes: concurrent repo opens through the API while the gateway and the node are killed
with SIGKILL at seeded random points; every unanswered request is retried with its Idempotency-Key.

Asserts no acknowledged request is lost (every open settles on chain), none is done twice (trades, signatures,
repos on chain), nothing is stuck (no pending settlement or step), balances match the opens and the audit chain
verifies. The seed is ``REPONET_CRASH_SEED`` (default 25)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.e2e.chains import (
    BOND_DECIMALS,
    CASH_DECIMALS,
    DEV_KEY,
    RELAYER_KEY,
    ROOT,
    ChainProcess,
    Deployment,
    deploy,
    start_chain,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SEED = int(os.environ.get("REPONET_CRASH_SEED", "25"))
OPENS = 12
CLIENTS = 4
KILLS = ["gateway", "gateway", "node", "gateway"]  # shuffled by the seed
PP, COLLATERAL = 1000, 1100
MINTED = 10**9
ANSWER_SECONDS = 240.0  # a request is retried this long at most


def wait_until(what: str, condition: Any, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(0.1)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


@dataclass
class Restartable:
    """A child process that the chaos kills with SIGKILL and starts again with the same command."""

    name: str
    command: list[str]
    log: Path
    ready: Any  # () -> bool
    proc: subprocess.Popen[bytes] | None = None
    kills: int = 0

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        wait_until(f"{self.name} ready", self.ready, 90)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    yield from start_chain("reponet-node", tmp_path)


def answers_rpc(url: str) -> bool:
    reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}, timeout=2)
    return reply.status_code == 200 and "result" in reply.json()


def setup_members(d: Deployment, tmp_path: Path, db_url: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Operator, bank A (seller, holds the bond) and fund B (buyer, holds cash), KYC-approved on chain; their
    traders' access headers and wallets."""
    from fastapi.testclient import TestClient

    from gateway.app import build_context, create_app
    from gateway.chain.connect import connect
    from gateway.chain.web3_client import Web3Chain
    from gateway.db.migrate import upgrade
    from gateway.db.models import Role
    from gateway.screening.sanctions import SanctionsList
    from tests.gateway.conftest import World, make_settings
    from tests.gateway.market import approve_member, list_instrument

    upgrade(db_url)
    registry = Web3Chain(
        connect(d.chain.url),
        account=d.deployer,
        identity_registry=d.addresses["identity_registry"],
        audit_anchor=d.addresses["audit_anchor"],
    )
    ctx = build_context(make_settings(tmp_path, db_url, **settings), chain=registry, sanctions=SanctionsList([], 88.0))
    app = create_app(ctx.settings, context=ctx)
    world = World(ctx=ctx, client=TestClient(app, base_url="https://gateway.test"), chain=registry)  # type: ignore[arg-type]
    world.org("op", name="Operator", is_operator=True)
    world.org("a", name="Bank A")
    world.org("b", name="Fund B")
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    wa = a.post("/v1/wallets", json={"label": "desk"}).json()
    wb = b.post("/v1/wallets", json={"label": "desk"}).json()
    approve_member(world, "a")
    approve_member(world, "b")
    list_instrument(world, d.addresses["cash"], "cash", CASH_DECIMALS, "EURD")
    list_instrument(world, d.addresses["bond"], "bond", BOND_DECIMALS, "DBR35")
    d.send(d.deployer, d.cash.functions.mint(wb["address"], MINTED * 10**CASH_DECIMALS))
    d.send(d.deployer, d.bond.functions.mint(wa["address"], MINTED * 10**BOND_DECIMALS))
    d.send(d.deployer, d.oracle.functions.setPrice(d.addresses["bond"], d.addresses["cash"], 9_800 * 10**18))
    ctx.engine.dispose()
    ctx.read_engine.dispose()
    return {
        "ha": {"Authorization": f"Bearer {a.tokens['access_token']}"},
        "hb": {"Authorization": f"Bearer {b.tokens['access_token']}"},
        "wa": wa,
        "wb": wb,
    }


class Api:
    """A client that retries every request with its Idempotency-Key until the gateway answers it for good."""

    def __init__(self, port_file: Path) -> None:
        self.port_file = port_file
        self.retries = 0
        self.unavailable = 0  # 503 answers seen (the node out of reach)
        self.sent = 0  # state-changing requests begun (the chaos kills at seeded points of this count)
        self.lock = threading.Lock()

    def base(self) -> str:
        return f"http://127.0.0.1:{self.port_file.read_text().strip()}"

    def post(self, path: str, headers: dict[str, str], key: str, body: Any = None) -> httpx.Response:
        with self.lock:
            self.sent += 1
        return self.send("POST", path, {**headers, "Idempotency-Key": key}, body)

    def send(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> httpx.Response:
        end = time.monotonic() + ANSWER_SECONDS
        while time.monotonic() < end:
            try:
                answer = httpx.request(method, self.base() + path, headers=headers, json=body, timeout=30)
            except httpx.TransportError:
                self.retries += 1
                time.sleep(0.2)
                continue
            busy = answer.status_code == 409 and answer.json().get("type", "").endswith("/idempotency-in-flight")
            if answer.status_code >= 500 or answer.status_code == 429 or busy:
                self.retries += 1
                self.unavailable += int(answer.status_code == 503)
                time.sleep(min(float(answer.headers.get("retry-after", "0.2")), 1.0))
                continue
            return answer
        pytest.fail(f"{method} {path} not answered within {ANSWER_SECONDS:.0f} s")


def test_opens_survive_gateway_and_node_kills_exactly_once(chain: ChainProcess, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    d = deploy(chain)
    db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    settings = {
        "access_token_seconds": 3600,
        "step_up_seconds": 3600,
        "rate_limit_ip": "1000000/minute",
        "rate_limit_principal": "1000000/minute",
        "chain_id": int(d.w3.eth.chain_id),
    }
    members = setup_members(d, tmp_path, db_url, settings)
    start_block = int(d.w3.eth.block_number)

    port_file = tmp_path / "gateway.port"
    config = {
        "work": str(tmp_path),
        "db_url": db_url,
        "settings": settings,
        "chain_url": chain.url,
        "chain_id": settings["chain_id"],
        "addresses": d.addresses,
        "deployer_key": DEV_KEY,
        "relayer_key": RELAYER_KEY,
        "start_block": start_block,
        "port": 0,
        "port_file": str(port_file),
    }
    config_file = tmp_path / "gateway.json"
    config_file.write_text(json.dumps(config))
    api = Api(port_file)

    def gateway_ready() -> bool:
        return port_file.exists() and httpx.get(api.base() + "/healthz", timeout=2).status_code == 200

    gateway = Restartable(
        "gateway",
        [sys.executable, "-m", "tests.e2e.crash_gateway", str(config_file)],
        tmp_path / "gateway.log",
        gateway_ready,
    )
    node = Restartable("node", list(chain.proc.args), tmp_path / "node-restarts.log", lambda: answers_rpc(chain.url))  # type: ignore[arg-type]
    node.proc = chain.proc
    gateway.start()
    config["port"] = int(port_file.read_text())  # restarts keep the port: clients need not look it up again
    config_file.write_text(json.dumps(config))

    terms = {
        "role": "seller",
        "wallet_id": members["wa"]["id"],
        "counterparty_wallet": members["wb"]["address"],
        "cash_token": d.addresses["cash"],
        "collateral_token": d.addresses["bond"],
        "purchase_price": str(PP),
        "collateral_amount": str(COLLATERAL),
        "rate": "0.035",
        "haircut_bps": 200,
        "tenor_seconds": 86_400,
    }
    ha, hb = members["ha"], members["hb"]
    acknowledged: list[str] = []  # settlement ids the client was answered for

    def open_one(i: int) -> str:
        created = api.post("/v1/trades", ha, f"trade-{i}", terms)
        assert created.status_code == 201, created.text
        trade_id = created.json()["id"]
        seller = api.post(f"/v1/trades/{trade_id}/sign", ha, f"sign-a-{i}")
        assert seller.status_code == 200, seller.text  # a retry of done work gets its answer, never "settling"
        buyer = api.post(f"/v1/trades/{trade_id}/sign", hb, f"sign-b-{i}")
        assert buyer.status_code == 200, buyer.text
        settlement_id = str(buyer.json()["trade"]["settlement_id"])
        acknowledged.append(settlement_id)
        return settlement_id

    done = threading.Event()
    chaos_log: list[str] = []

    def chaos() -> None:
        """Each kill at a seeded point of the workload (after the n-th request began, plus a seeded delay), so
        that requests are in flight when it comes."""
        plan = list(KILLS)
        rng.shuffle(plan)
        # every point leaves a third of the requests still to come, so each kill meets work in flight; should the
        # workload still finish first on a fast machine, the kill happens anyway (a restart with nothing in flight)
        points = sorted(rng.sample(range(2, 2 * OPENS), len(plan)))
        for victim, point in zip(plan, points, strict=True):
            while api.sent < point and not done.is_set():
                time.sleep(0.01)
            done.wait(rng.uniform(0.0, 0.6))
            target = gateway if victim == "gateway" else node
            target.kill()
            chaos_log.append(f"killed {victim}")
            if victim == "node":
                time.sleep(rng.uniform(1.0, 3.0))  # the gateway meets the outage
            target.start()
            chaos_log.append(f"restarted {victim}")

    killer = threading.Thread(target=chaos, daemon=True)
    try:
        killer.start()
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            settlement_ids = list(pool.map(open_one, range(OPENS)))
        done.set()
        killer.join(timeout=180)
        assert not killer.is_alive()
        # every acknowledged open settles: none lost, none failed
        for settlement_id in settlement_ids:

            def final(sid: str = settlement_id) -> bool:
                answer = api.send("GET", f"/v1/settlements/{sid}", ha)
                assert answer.json()["status"] != "failed", answer.text
                return bool(answer.json()["status"] == "final")

            wait_until(f"settlement {settlement_id} final", final, 180)
        assert sorted(acknowledged) == sorted(settlement_ids) and len(set(settlement_ids)) == OPENS
        assert gateway.kills + node.kills == len(KILLS), chaos_log
        gateway.stop()
        verify(d, db_url, members)
    finally:
        done.set()
        gateway.stop()
        if node.proc is not chain.proc:
            node.stop()


def verify(d: Deployment, db_url: str, members: dict[str, Any]) -> None:
    from gateway.db import audit_log
    from gateway.db.models import AuditEntry
    from gateway.db.session import make_engine, make_session_factory
    from gateway.settlement_records.models import ChainStep, Settlement
    from gateway.trading.models import Trade

    sessions = make_session_factory(make_engine(db_url))
    with sessions() as session:
        trades = session.scalars(select(Trade)).all()
        assert len(trades) == OPENS  # no trade created twice
        signed = session.execute(
            select(AuditEntry.object_id, func.count())
            .where(AuditEntry.action == "trade.signed")
            .group_by(AuditEntry.object_id)
        ).all()
        assert len(signed) == OPENS and all(n == 2 for _, n in signed), signed  # each side signed once
        assert all(t.repo_id is not None for t in trades)
        assert len({t.repo_id for t in trades}) == OPENS
        opens = session.scalars(select(Settlement).where(Settlement.kind == "open")).all()
        assert len(opens) == OPENS
        stuck = session.scalars(select(Settlement).where(Settlement.status != "final")).all()
        assert not stuck, [(s.kind, s.status, s.error) for s in stuck]
        steps = session.scalars(select(ChainStep).where(ChainStep.status != "final")).all()
        assert not steps, [(s.label, s.status, s.error) for s in steps]
        result = audit_log.verify(session)
        assert result.ok, result
    assert int(d.engine.functions.repoCount().call()) == OPENS  # no repo opened twice on chain
    wa, wb = members["wa"]["address"], members["wb"]["address"]
    cash_unit, bond_unit = 10**CASH_DECIMALS, 10**BOND_DECIMALS
    assert int(d.cash.functions.balanceOf(wa).call()) == OPENS * PP * cash_unit
    assert int(d.cash.functions.balanceOf(wb).call()) == (MINTED - OPENS * PP) * cash_unit
    assert int(d.bond.functions.balanceOf(d.engine.address).call()) == OPENS * COLLATERAL * bond_unit
    assert int(d.bond.functions.balanceOf(wa).call()) == (MINTED - OPENS * COLLATERAL) * bond_unit
