"""The node's pushed heads (gateway.chain.heads) against a real node: followed on a WebSocket, used by the market
in place of ``eth_blockNumber``, and not trusted once the subscription is gone."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.chain import heads
from gateway.chain.heads import Head, HeadWatcher, websocket_url
from scripts.harness.node_process import NodeProcess, start_node
from tests.node.unit.test_cli import GENESIS, run_cli, write


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    running = start_node(tmp_path_factory.mktemp("heads-node"), "--block-time", "0.2", "--empty-blocks")
    try:
        yield running
    finally:
        running.stop()


def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_websocket_url_follows_the_rpc_url() -> None:
    assert websocket_url("http://127.0.0.1:8545") == "ws://127.0.0.1:8545/"
    assert websocket_url("https://node.example:443/rpc?x=1") == "wss://node.example:443/rpc?x=1"
    assert websocket_url("memory://") is None


def test_pushed_heads_follow_the_chain_and_wake_listeners(node: NodeProcess) -> None:
    url = websocket_url(node.url)
    assert url is not None
    watcher = HeadWatcher(url)
    woken = threading.Event()
    watcher.listeners.append(lambda _head: woken.set())
    stop = threading.Event()
    thread = watcher.start(stop)
    try:
        wait_for(lambda: watcher.latest() is not None)
        assert woken.wait(10)
        first = watcher.latest()
        assert first is not None
        asked = int(node.call("eth_blockNumber"), 16)
        assert abs(asked - first.number) <= 2
        wait_for(lambda: (h := watcher.latest()) is not None and h.number > first.number)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_stale_or_lost_subscription_is_not_trusted(node: NodeProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    url = websocket_url(node.url)
    assert url is not None
    watcher = HeadWatcher(url)
    stop = threading.Event()
    thread = watcher.start(stop)
    try:
        wait_for(lambda: watcher.latest() is not None)
        assert watcher.latest(now=time.monotonic() + heads.TRUST_SECONDS + 1) is None  # said nothing for too long
        assert watcher.subscribed()  # but a new block would still be pushed: loops may wait for it
    finally:
        stop.set()
        thread.join(10)
    assert watcher.latest() is None  # the subscription ended: readers ask the node again
    assert not watcher.subscribed()  # and loops that wait for blocks poll at their own pace again
    nowhere = HeadWatcher("ws://127.0.0.1:9/")  # nothing listens: never trusted
    stop2 = threading.Event()
    thread2 = nowhere.start(stop2)
    time.sleep(0.3)
    assert nowhere.latest() is None and not nowhere.subscribed()
    stop2.set()
    thread2.join(10)


def test_a_node_that_requires_tokens_refuses_a_watcher_without_one(tmp_path: Path) -> None:
    genesis = write(tmp_path / "genesis.json", json.dumps(GENESIS))
    password = write(tmp_path / "pw", "s3cret\n")
    data_dir = tmp_path / "data"
    made = run_cli("init", "--data-dir", str(data_dir), "--genesis", str(genesis), "--password-file", str(password))
    assert made.returncode == 0, made.stderr
    secured = start_node(
        data_dir, "--block-time", "0.2", "--empty-blocks", command="run", env={"REPONET_NODE_PASSWORD": "s3cret"}
    )
    try:
        url = websocket_url(secured.url)
        assert url is not None
        anonymous, authorized = HeadWatcher(url), HeadWatcher(url, token=secured.operator_token())
        stop = threading.Event()
        threads = [anonymous.start(stop), authorized.start(stop)]
        try:
            wait_for(lambda: authorized.latest() is not None)
            assert anonymous.latest() is None and not anonymous.subscribed() and authorized.subscribed()
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
    finally:
        secured.stop()


class _Pushed:
    """A watcher stand-in whose latest head is ``head``."""

    def __init__(self, head: Head | None) -> None:
        self.head = head

    def latest(self) -> Head | None:
        return self.head


def test_the_market_reads_pushed_heads_and_asks_without_them() -> None:
    from types import SimpleNamespace

    from eth_account import Account
    from web3 import Web3

    from gateway.settlement.market import Market

    market = Market(
        Web3(),
        engine="0x" + "e1" * 20,
        oracle="0x" + "0a" * 20,
        relayer=Account.create(),
    )
    asked: list[str] = []

    def get_block(tag: str) -> dict[str, int]:
        asked.append("get_block")
        return {"timestamp": 5_000}

    eth = SimpleNamespace(get_block=get_block, block_number=41)
    market.w3 = SimpleNamespace(eth=eth)  # type: ignore[assignment]
    assert market.head_number() == 41 and market.now() == 5_000  # no pushed heads: the node is asked
    assert asked == ["get_block"]
    pushed = _Pushed(Head(number=42, timestamp=7_000, seen_at=time.monotonic() - 5))
    market.heads = pushed  # type: ignore[assignment]
    # the latest block's own timestamp, not extrapolated by the 5 s since it came (the next block is not there yet)
    assert market.head_number() == 42 and market.recent_block_number(0.25) == 42 and market.now() == 7_000
    market.forget_clock()  # a dev chain's clock jumped: a head pushed before the jump is not its clock
    assert market.now() == 5_000 and asked == ["get_block", "get_block"]
    pushed.head = Head(number=43, timestamp=9_000, seen_at=time.monotonic())
    assert market.now() == 9_000
    pushed.head = None  # the subscription is down: asked again
    assert market.head_number() == 41


class _Subscribed:
    def __init__(self, up: bool) -> None:
        self.up = up

    def subscribed(self) -> bool:
        return self.up


def test_a_loop_waiting_for_blocks_ticks_seldom_only_while_the_heads_are_pushed() -> None:
    """Each pushed head wakes the loop: its idle tick is then long; without the subscription it polls as set."""
    assert heads.idle_seconds(None, 0.25) == 0.25
    assert heads.idle_seconds(_Subscribed(False), 0.25) == 0.25  # type: ignore[arg-type]
    assert heads.idle_seconds(_Subscribed(True), 0.25) == heads.SUBSCRIBED_IDLE_SECONDS  # type: ignore[arg-type]
    assert heads.idle_seconds(_Subscribed(True), 5.0) == 5.0  # type: ignore[arg-type]  # never faster than set
    assert heads.idle_seconds(_Subscribed(True), 0.05, 0.25) == 0.25  # type: ignore[arg-type]
