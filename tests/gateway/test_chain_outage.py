"""Outages are not refusals: a node that does not answer makes work wait (the relayer retries, nothing fails) and
makes reads a decision rests on fail closed with 503 + Retry-After; only the node's JSON-RPC answer refuses."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from prometheus_client import generate_latest
from sqlalchemy import select
from web3.exceptions import Web3RPCError

from gateway.chain.connect import connect
from gateway.chain.memory import InMemoryChain
from gateway.chain.outage import is_outage, node_words, reachability
from gateway.chain.transport import NodeUnreachable
from gateway.chain.web3_client import Web3Chain
from gateway.db.models import Role
from gateway.exceptions import ChainUnavailable
from gateway.observability.routes import Metrics
from gateway.settlement.market import Market
from gateway.settlement.relay_loop import Relayer
from gateway.settlement_records.models import ChainStep, Settlement
from gateway.settlement_records.steps import StepSpec, enqueue
from tests.gateway.conftest import World
from tests.gateway.fakechain import FakeNode, fake_web3
from tests.gateway.market import (
    BOND,
    CASH,
    ENGINE,
    approve_member,
    call,
    custodial_wallet,
    list_instrument,
    market_world,
    step_up,
)

ORACLE = "0x" + "0a" * 20


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the probe is: nothing listens there


def wait_for(condition: object, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


# ------------------------------------------------------------------ classification
def test_transport_errors_are_outages_and_json_rpc_errors_are_answers() -> None:
    refused = NodeUnreachable("connection refused")
    assert is_outage(refused)
    assert is_outage(TimeoutError("timed out"))
    try:
        try:
            raise ConnectionResetError(104, "reset")
        except OSError as exc:
            raise RuntimeError("wrapped") from exc
    except RuntimeError as wrapped:
        assert is_outage(wrapped)
    answer = Web3RPCError(
        "{'code': -32007, 'message': 'sender 0xab not permitted'}",
        rpc_response={"jsonrpc": "2.0", "id": 1, "error": {"code": -32007, "message": "sender 0xab not permitted"}},
    )
    assert not is_outage(answer)
    assert node_words(answer) == "sender 0xab not permitted (JSON-RPC error -32007)"
    assert not is_outage(ValueError("bad input"))


def test_a_closed_port_is_unreachable_and_the_metrics_say_so() -> None:
    w3 = connect(f"http://127.0.0.1:{closed_port()}", timeout=2)
    with pytest.raises(NodeUnreachable):
        w3.eth.block_number  # noqa: B018 - the call is the test
    assert reachability.unreachable
    metrics = generate_latest(Metrics().registry).decode()
    assert "reponet_chain_unreachable 1.0" in metrics
    reachability.answered()
    assert "reponet_chain_unreachable 0.0" in generate_latest(Metrics().registry).decode()


def test_the_registry_out_of_reach_is_chain_unavailable_not_unverified() -> None:
    from contracts.artifacts import load_artifact  # noqa: F401 - the artifacts the client loads must exist

    registry = Web3Chain(
        connect(f"http://127.0.0.1:{closed_port()}", timeout=2),
        account=Account.create(),
        identity_registry="0x" + "12" * 20,
        audit_anchor="0x" + "34" * 20,
    )
    with pytest.raises(ChainUnavailable):
        registry.is_verified("0x" + "56" * 20)
    reachability.answered()


# ------------------------------------------------------------------ API: reads a decision rests on
class RegistryOutage(InMemoryChain):
    """The in-memory registry, except while ``down``: then its reads go to a node that does not answer."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self._dead = Web3Chain(
            connect(f"http://127.0.0.1:{closed_port()}", timeout=2),
            account=Account.create(),
            identity_registry="0x" + "12" * 20,
            audit_anchor="0x" + "34" * 20,
        )

    def is_verified(self, wallet: str) -> bool:
        if self.down:
            return self._dead.is_verified(wallet)
        return super().is_verified(wallet)


@pytest.fixture
def outage_world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url, chain=RegistryOutage()):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w
    reachability.answered()


def test_signing_while_the_registry_is_out_of_reach_is_503_not_a_kyc_refusal(outage_world: World) -> None:
    world = outage_world
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    wa, wb = custodial_wallet(a), custodial_wallet(b)
    approve_member(world, "a")
    approve_member(world, "b")
    rfq = call(
        a,
        "/v1/rfqs",
        {
            "seller_wallet_id": wa["id"],
            "cash_token": CASH,
            "collateral_token": BOND,
            "purchase_price": "1000",
            "collateral_amount": "1100",
            "tenor_seconds": 3600,
        },
    )
    quote = call(
        b, f"/v1/rfqs/{rfq.json()['id']}/quotes", {"buyer_wallet_id": wb["id"], "rate": "0.01", "haircut_bps": 200}
    )
    trade = call(a, f"/v1/rfqs/{rfq.json()['id']}/accept", {"quote_id": quote.json()["id"]}).json()
    step_up(a)
    chain = world.chain
    assert isinstance(chain, RegistryOutage)
    chain.down = True
    headers = {**a.headers, "Idempotency-Key": "sign-in-outage"}
    answer = world.client.post(f"/v1/trades/{trade['id']}/sign", headers=headers)
    assert answer.status_code == 503, answer.text
    assert answer.json()["type"].endswith("/chain-unavailable")
    assert int(answer.headers["retry-after"]) >= 1
    assert "wallet-not-verified" not in answer.text
    chain.down = False  # the node is back: the same key is tried again (a 503 is never stored)
    again = world.client.post(f"/v1/trades/{trade['id']}/sign", headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["trade"]["seller"]["signed"]


# ------------------------------------------------------------------ relayer
@pytest.fixture
def relay(tmp_path: Path, db_url: str) -> Iterator[tuple[World, FakeNode, Relayer]]:
    node = FakeNode()
    market = Market(fake_web3(node), engine=ENGINE, oracle=ORACLE, relayer=Account.create())
    for world in market_world(tmp_path, db_url):
        relayer = Relayer(market, world.ctx.sessions, world.ctx.keys, read_sessions=world.ctx.read_sessions)
        yield world, node, relayer
    reachability.answered()


def queue_step(world: World, relayer: Relayer) -> uuid.UUID:
    with world.ctx.sessions() as session:
        settlement = enqueue(
            session,
            kind="price",
            requested_by="test",
            steps=[StepSpec(label="price", to=ORACLE, data="0x", sender=relayer.market.relayer.address)],
        )
        session.commit()
        return settlement.id


def state(world: World, settlement_id: uuid.UUID) -> tuple[str, str | None, list[str]]:
    with world.ctx.sessions() as session:
        settlement = session.get(Settlement, settlement_id)
        assert settlement is not None
        steps = session.scalars(select(ChainStep.status).where(ChainStep.settlement_id == settlement_id)).all()
        return settlement.status, settlement.error, list(steps)


def test_a_broadcast_the_node_never_answered_waits_and_is_sent_again(
    relay: tuple[World, FakeNode, Relayer],
) -> None:
    world, node, relayer = relay
    settlement_id = queue_step(world, relayer)
    node.send_down = True  # the node dies while the step is being sent
    relayer.run_once()
    assert state(world, settlement_id) == ("pending", None, ["sent"])  # not failed: nobody refused it
    node.send_down = False
    wait_for(lambda: (relayer.run_once(), state(world, settlement_id)[0])[1] == "final")
    assert len(node.received) == 1  # the same signed bytes, once


def test_a_node_refusal_fails_the_step_in_the_nodes_words(relay: tuple[World, FakeNode, Relayer]) -> None:
    world, node, relayer = relay
    settlement_id = queue_step(world, relayer)
    node.refusal = {"code": -32007, "message": "sender not permitted by the account rules"}
    relayer.run_once()
    wait_for(lambda: (relayer.run_once(), state(world, settlement_id)[0])[1] == "failed")
    _, error, _ = state(world, settlement_id)
    assert error is not None and "sender not permitted by the account rules" in error
    assert "ConnectionRefused" not in error


def test_the_relayer_waits_out_a_node_outage_and_then_settles(relay: tuple[World, FakeNode, Relayer]) -> None:
    world, node, relayer = relay
    node.down = True
    settlement_id = queue_step(world, relayer)
    stop = threading.Event()
    worker = threading.Thread(target=relayer.run, args=(stop,), daemon=True)
    worker.start()
    try:
        wait_for(lambda: reachability.unreachable and reachability.seconds_since_answer() > 0.3)
        assert state(world, settlement_id)[0] == "pending"  # the outage failed nothing
        node.down = False
        relayer.wake.set()
        wait_for(lambda: state(world, settlement_id)[0] == "final")
    finally:
        stop.set()
        relayer.wake.set()
        worker.join(timeout=10)
    assert not reachability.unreachable
    assert len(node.received) == 1
