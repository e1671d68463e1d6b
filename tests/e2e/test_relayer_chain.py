"""The relayer against a real chain: a crash between signing and broadcasting loses nothing and doubles
nothing; a transaction dropped from the pool is sent again; concurrent relayers never share a nonce."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from contracts.artifacts import load_artifact
from gateway.config import Settings
from gateway.db.migrate import upgrade
from gateway.db.session import make_engine, make_session_factory
from gateway.keys.provider import provider_from_settings
from gateway.settlement.market import Market
from gateway.settlement.relay_loop import Relayer
from gateway.settlement_records.models import ChainStep, Settlement
from gateway.settlement_records.steps import StepSpec, enqueue
from tests.e2e.chains import ChainProcess, Deployment, deploy, start_chain
from tests.gateway.conftest import make_settings

pytestmark = pytest.mark.slow


class Crash(BaseException):
    """The process dies (not an error the relayer may handle)."""


@pytest.fixture(params=["anvil", "reponet-node"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChainProcess]:
    yield from start_chain(request.param, tmp_path)


@pytest.fixture
def deployment(chain: ChainProcess) -> Deployment:
    return deploy(chain)


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{tmp_path / 'relayer.db'}"
    upgrade(url)
    return make_session_factory(make_engine(url))


def relayer_for(d: Deployment, sessions: sessionmaker[Session], tmp_path: Path) -> Relayer:
    market = Market(
        d.w3,
        engine=d.addresses["repo_engine"],
        oracle=d.addresses["price_oracle"],
        relayer=d.relayer,
        settings=Settings(relayer_poll_seconds=0.02),
    )
    keys = provider_from_settings(make_settings(tmp_path, "sqlite://"))
    return Relayer(market, sessions, keys)


def price_steps(d: Deployment, count: int, sessions: sessionmaker[Session]) -> list[Settlement]:
    oracle = d.oracle
    made = []
    with sessions.begin() as session:
        for i in range(count):
            data = oracle.functions.setPrice(d.addresses["bond"], d.addresses["cash"], (9_000 + i) * 10**18)
            made.append(
                enqueue(
                    session,
                    kind="price",
                    requested_by="test",
                    steps=[
                        StepSpec(
                            label="price",
                            to=oracle.address,
                            data=data._encode_transaction_data(),
                            sender=d.relayer.address,
                        )
                    ],
                )
            )
        session.flush()
        for s in made:
            session.expunge(s)
    return made


def nonces(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return sorted(int(n) for n in session.scalars(select(ChainStep.nonce).where(ChainStep.nonce.is_not(None))))


def settle_all(relayer: Relayer, made: list[Settlement]) -> None:
    for s in made:
        assert relayer.run_until_settled(s.id, timeout=60).status == "final"


def test_crash_between_signing_and_broadcast_loses_and_doubles_nothing(
    deployment: Deployment, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    d = deployment
    start = d.w3.eth.get_transaction_count(d.relayer.address, "pending")
    made = price_steps(d, 3, sessions)
    first = relayer_for(d, sessions, tmp_path)
    sent: list[bytes] = []

    def crash_on_second(raw: bytes) -> None:
        sent.append(raw)
        if len(sent) == 2:
            raise Crash

    first._broadcast_hook = crash_on_second
    with pytest.raises(Crash):
        for _ in range(20):
            first.run_once()
    # the second step is signed and durable, but the node never saw it
    restarted = relayer_for(d, sessions, tmp_path)
    settle_all(restarted, made)
    assert nonces(sessions) == [start, start + 1, start + 2]  # no gap, no duplicate
    assert d.w3.eth.get_transaction_count(d.relayer.address, "latest") == start + 3
    with sessions() as session:
        for step in session.scalars(select(ChainStep)):
            receipt = d.w3.eth.get_transaction_receipt(step.tx_hash)  # type: ignore[arg-type]
            assert receipt["status"] == 1
    assert d.oracle.functions.getPrice(d.addresses["bond"], d.addresses["cash"]).call()[0] == 9_002 * 10**18


def test_dropped_transaction_is_sent_again(
    deployment: Deployment, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    d = deployment
    if d.chain.kind != "anvil":
        pytest.skip("dropping a pooled transaction needs Anvil's anvil_dropTransaction")
    start = d.w3.eth.get_transaction_count(d.relayer.address, "pending")
    made = price_steps(d, 1, sessions)
    relayer = relayer_for(d, sessions, tmp_path)
    d.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        relayer.run_once()
        with sessions() as session:
            step = session.scalars(select(ChainStep)).one()
            tx_hash = step.tx_hash
        d.w3.provider.make_request("anvil_dropTransaction", [tx_hash])  # type: ignore[arg-type]
    finally:
        d.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    settle_all(relayer, made)
    assert nonces(sessions) == [start]
    assert d.w3.eth.get_transaction_count(d.relayer.address, "latest") == start + 1


def test_concurrent_relayers_never_share_a_nonce(
    deployment: Deployment, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    d = deployment
    start = d.w3.eth.get_transaction_count(d.relayer.address, "pending")
    made = price_steps(d, 8, sessions)
    relayers = [relayer_for(d, sessions, tmp_path) for _ in range(3)]
    stop = threading.Event()
    threads = [threading.Thread(target=r.run, args=(stop,)) for r in relayers]
    for t in threads:
        t.start()
    try:
        settle_all(relayers[0], made)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert nonces(sessions) == list(range(start, start + 8))
    assert d.w3.eth.get_transaction_count(d.relayer.address, "latest") == start + 8
    assert Web3.is_address(d.relayer.address)


def test_a_step_that_reverts_fails_with_its_reason_and_leaves_no_nonce_gap(
    deployment: Deployment, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    d = deployment
    start = d.w3.eth.get_transaction_count(d.relayer.address, "pending")
    engine = d.w3.eth.contract(address=d.addresses["repo_engine"], abi=load_artifact("RepoEngine").abi)
    with sessions.begin() as session:
        made = enqueue(
            session,
            kind="repurchase",
            requested_by="test",
            steps=[
                StepSpec(
                    label="repurchase",
                    to=engine.address,
                    data=engine.functions.repurchase(987_654)._encode_transaction_data(),
                    sender=d.relayer.address,
                )
            ],
        )
        session.flush()
        session.expunge(made)
    relayer = relayer_for(d, sessions, tmp_path)
    ended = relayer.run_until_settled(made.id, timeout=30)
    assert ended.status == "failed"
    assert ended.error is not None and "RepoUnknown(987654)" in ended.error, ended.error  # from the node's trace
    # sent without a dry run: the reverted transaction used its nonce, and the next step takes the one after it
    assert nonces(sessions) == [start]
    assert d.w3.eth.get_transaction_count(d.relayer.address, "latest") == start + 1
    after = price_steps(d, 1, sessions)[0]
    assert relayer.run_until_settled(after.id, timeout=30).status == "final"
    assert nonces(sessions) == [start, start + 1]
