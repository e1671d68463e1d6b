"""The pool cannot be squatted (node.txpool): queued caps, oldest-queued eviction, expiry, reserved system slots.

Before, five permitted senders with 1,000 queued (future-nonce) transactions each filled a 5,000-slot pool for
good, and a clean sender — the gateway's relayer included — then got "txpool is full" indefinitely.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from eth_account import Account

from scripts.harness.node_process import DEV_KEYS, NodeProcess, RpcFailure, address_of, sign, start_node

RECIPIENT = "0x" + "42" * 20
SYSTEM_KEY = DEV_KEYS[0]
# dev accounts 3..9 of the test mnemonic: funded and allowed on a dev node
MEMBER_KEYS = [
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
]


def nonce_of(node: NodeProcess, key: str) -> int:
    return int(node.call("eth_getTransactionCount", address_of(key), "latest"), 16)


def send(node: NodeProcess, key: str, nonce: int) -> str:
    return str(node.call("eth_sendRawTransaction", sign(key, nonce=nonce, to=RECIPIENT, gas=21_000)))


def refusal(node: NodeProcess, key: str, nonce: int) -> str:
    with pytest.raises(RpcFailure) as failure:
        send(node, key, nonce)
    return str(failure.value.error["message"])


def in_pool(node: NodeProcess, tx_hash: str) -> bool:
    return node.call("eth_getTransactionByHash", tx_hash) is not None


@pytest.fixture
def slow_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """Blocks only every 10 minutes, so pending transactions stay pooled; a small pool to fill."""
    node = start_node(
        tmp_path_factory.mktemp("squat") / "data",
        "--block-time",
        "600",
        "--no-trailing-block",
        "--txpool-global-slots",
        "16",
        "--txpool-reserved-slots",
        "4",
        "--txpool-queued-slots",
        "3",
        "--txpool-queued-global",
        "6",
        "--txpool-system-senders",
        address_of(SYSTEM_KEY),
    )
    # the first transaction is mined at once (no block yet); later ones wait for the next block
    node.wait_receipt(send(node, SYSTEM_KEY, nonce_of(node, SYSTEM_KEY)))
    yield node
    node.stop()


def test_queued_transactions_are_capped_per_sender(slow_node: NodeProcess) -> None:
    key = MEMBER_KEYS[0]
    base = nonce_of(slow_node, key)
    for gap in (1, 2, 3):
        send(slow_node, key, base + gap)
    assert refusal(slow_node, key, base + 4) == "txpool is full: too many queued transactions from this sender"


def test_the_oldest_queued_is_evicted_when_the_queue_is_full(slow_node: NodeProcess) -> None:
    first = [send(slow_node, MEMBER_KEYS[i], nonce_of(slow_node, MEMBER_KEYS[i]) + 5) for i in range(3)]
    more = [send(slow_node, MEMBER_KEYS[i], nonce_of(slow_node, MEMBER_KEYS[i]) + 6) for i in range(3)]
    assert all(in_pool(slow_node, h) for h in first + more)
    newest = send(slow_node, MEMBER_KEYS[3], nonce_of(slow_node, MEMBER_KEYS[3]) + 5)
    assert in_pool(slow_node, newest)
    assert not in_pool(slow_node, first[0]), "the oldest queued transaction should have made room"
    assert all(in_pool(slow_node, h) for h in first[1:] + more)


def test_squatters_cannot_lock_out_a_clean_sender_or_the_system(slow_node: NodeProcess) -> None:
    # the squatters queue all they may (6 in all), then fill the rest of the unreserved pool with pending ones
    for key in MEMBER_KEYS[:2]:
        base = nonce_of(slow_node, key)
        for gap in (1, 2, 3):
            send(slow_node, key, base + gap + 1)
    squatter = MEMBER_KEYS[2]
    base = nonce_of(slow_node, squatter)
    sent = 0
    squatter_hashes: list[str] = []
    while True:
        try:
            squatter_hashes.append(send(slow_node, squatter, base + sent))
        except RpcFailure as failure:
            assert failure.error["message"] == "txpool is full"
            break
        sent += 1
        assert sent < 50
    # pending transactions evicted the queued ones rather than being refused while queued ones sat in the pool
    assert sent == 12, sent  # 16 slots - 4 reserved
    # a clean member still gets in: the squatter, holding the most, yields its newest pending transaction
    assert in_pool(slow_node, send(slow_node, MEMBER_KEYS[4], nonce_of(slow_node, MEMBER_KEYS[4])))
    assert not in_pool(slow_node, squatter_hashes[-1]) and all(in_pool(slow_node, h) for h in squatter_hashes[:-1])
    # and the system sender (the relayer) gets in too: reserved slots
    system_nonce = int(slow_node.call("eth_getTransactionCount", address_of(SYSTEM_KEY), "pending"), 16)
    for i in range(4):
        assert in_pool(slow_node, send(slow_node, SYSTEM_KEY, system_nonce + i))


def test_queued_transactions_expire(tmp_path_factory: pytest.TempPathFactory) -> None:
    node = start_node(
        tmp_path_factory.mktemp("expiry") / "data", "--block-time", "0.1", "--txpool-queued-lifetime", "1"
    )
    try:
        key = MEMBER_KEYS[4]
        queued = send(node, key, nonce_of(node, key) + 3)
        assert in_pool(node, queued)
        deadline = time.monotonic() + 30
        while in_pool(node, queued):
            assert time.monotonic() < deadline, "the queued transaction never expired"
            time.sleep(0.1)
        pending = send(node, key, nonce_of(node, key))
        assert node.wait_receipt(pending)["status"] == "0x1"
    finally:
        node.stop()


def test_member_keys_are_dev_accounts() -> None:
    from node.devchain import dev_accounts

    expected = {a.address.lower() for a in dev_accounts(10)}
    assert {Account.from_key(k).address.lower() for k in MEMBER_KEYS} <= expected


def test_a_block_takes_the_system_senders_transactions_first(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Members' pending transactions cannot crowd settlement out of a block: the system sender's go in first."""
    node = start_node(
        tmp_path_factory.mktemp("system-first") / "data",
        "--block-time",
        "3",
        "--no-trailing-block",
        "--txpool-system-senders",
        address_of(SYSTEM_KEY),
    )
    try:
        node.wait_receipt(send(node, MEMBER_KEYS[0], nonce_of(node, MEMBER_KEYS[0])))  # the next block waits 3 s
        member_base = nonce_of(node, MEMBER_KEYS[1])
        raws = [sign(MEMBER_KEYS[1], nonce=member_base + i, to=RECIPIENT, gas=21_000) for i in range(5)]
        raws.append(sign(SYSTEM_KEY, nonce=nonce_of(node, SYSTEM_KEY), to=RECIPIENT, gas=21_000))
        batch = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [r]} for i, r in enumerate(raws)
        ]
        hashes = [r["result"] for r in sorted(node.post(batch), key=lambda r: r["id"])]
        receipts = [node.wait_receipt(h, timeout=30) for h in hashes]
        system = receipts[-1]
        same_block = [r for r in receipts[:-1] if r["blockNumber"] == system["blockNumber"]]
        assert system["transactionIndex"] == "0x0", system
        assert all(int(r["transactionIndex"], 16) > 0 for r in same_block)
    finally:
        node.stop()
