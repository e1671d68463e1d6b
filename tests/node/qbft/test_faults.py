"""QBFT fault tests: real `reponet-node` processes on loopback, bounded in time, every process stopped.

Block period 0.25 s and round timeout 0.5 s keep each test within tens of seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_keys.datatypes import PrivateKey

from node.keystore import write_keystore
from scripts.harness.chains import Rpc
from scripts.harness.qbft_network import ROOT, Load, Network, assert_exactly_once, free_port_block, wait_until

INTRUDER_KEY = PrivateKey(b"\x42" * 32)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def net4(tmp_path: Path) -> Iterator[Network]:
    net = Network(tmp_path / "net")
    try:
        net.start()
        yield net
    finally:
        net.close()


def advances(net: Network, node: int, blocks: int, timeout: float) -> None:
    start = net.head(node)
    wait_until(lambda: net.head(node) >= start + blocks, timeout, f"node {node} to finalize {blocks} more blocks")


def test_kill_one_keeps_finalizing_kill_two_halts_one_back_resumes(net4: Network) -> None:
    load = Load(net4, targets=[0, 1], rate=20).start()
    try:
        advances(net4, 0, 3, 20)
        net4.kill(3)
        advances(net4, 0, 4, 30)  # 3 of 4: still a quorum
        net4.kill(2)
        time.sleep(1.5)  # a block in flight may still land
        halted_at = net4.head(0)
        time.sleep(3)
        assert net4.head(0) == halted_at, "2 of 4 validators must not finalize blocks"
        assert net4.head(1) == halted_at
        net4.assert_no_fork([0, 1])
        net4.start(2)  # restarts from its disk, syncs, and takes part again
        advances(net4, 0, 3, 40)
    finally:
        load.stop()
    assert len(load.acked) > 50
    assert_exactly_once(net4, 0, load.acked, timeout=60)
    net4.start(3)  # the node killed first catches up from its peers
    head = net4.head(0)
    wait_until(lambda: net4.head(3) >= head, 30, "node 3 to sync")
    net4.assert_no_fork([0, 1, 2, 3])


def test_partition_never_produces_two_blocks_at_one_height(net4: Network) -> None:
    load = Load(net4, targets=[0, 2], rate=15).start()
    try:
        advances(net4, 0, 2, 20)
        a, b = [0, 1], [2, 3]
        for i in a:
            net4.faults(i, drop=[net4.address(j) for j in b])
        for i in b:
            net4.faults(i, drop=[net4.address(j) for j in a])
        time.sleep(1.5)
        split = [net4.head(i) for i in range(4)]
        time.sleep(3)
        assert [net4.head(i) for i in range(4)] == split, "neither half has a quorum"
        net4.assert_no_fork([0, 1, 2, 3])
        for i in range(4):  # heal; then isolate node 3 alone: the other three keep going
            net4.faults(i, drop=[])
        advances(net4, 0, 3, 40)
        net4.faults(3, drop=[net4.address(j) for j in (0, 1, 2)])
        for i in (0, 1, 2):
            net4.faults(i, drop=[net4.address(3)])
        advances(net4, 0, 3, 30)
        for i in range(4):
            net4.faults(i, drop=[])
        head = net4.head(0)
        wait_until(lambda: net4.head(3) >= head, 30, "node 3 to catch up after the partition")
    finally:
        load.stop()
    net4.assert_no_fork([0, 1, 2, 3])
    assert_exactly_once(net4, 1, load.acked, timeout=60)


def test_equivocating_validator_cannot_fork_and_is_detected(net4: Network) -> None:
    net4.faults(0, equivocate=True, conflicting_votes=True)
    load = Load(net4, targets=[1, 2], rate=15).start()
    try:
        advances(net4, 1, 8, 60)
    finally:
        load.stop()
    net4.assert_no_fork([0, 1, 2, 3])
    detected = [f for i in (1, 2, 3) for f in net4.status(i)["recentFaults"] if "equivocation" in f]
    assert detected, "honest validators must detect and log the equivocation"
    byzantine = net4.address(0)[2:]
    assert any(byzantine in f for f in detected)
    assert any("QBFT fault detected" in (net4.root / f"node{i}.log").read_text() for i in (1, 2, 3))
    assert_exactly_once(net4, 1, load.acked, timeout=60)


def test_stop_all_restart_all_resumes_from_disk(net4: Network) -> None:
    load = Load(net4, targets=[0], rate=20).start()
    try:
        advances(net4, 0, 5, 20)
    finally:
        load.stop()
    assert_exactly_once(net4, 0, load.acked)
    before = net4.block_hashes(0)
    for i in range(4):
        net4.stop(i)
    net4.start()
    assert net4.block_hashes(0, upto=len(before) - 1) == before
    load = Load(net4, targets=[3], rate=20).start()
    try:
        advances(net4, 3, 3, 30)
    finally:
        load.stop()
    net4.assert_no_fork([0, 1, 2, 3])
    assert_exactly_once(net4, 2, load.acked)


def test_permissioning_of_nodes_and_of_validator_keys(tmp_path: Path) -> None:
    net = Network(tmp_path / "net", validators=4, rpc_nodes=1)
    # an intruder: same genesis and peers, but a node key that no allowlist names
    intruder = tmp_path / "intruder"
    shutil.copytree(net.data_dir(4), intruder)
    write_keystore(intruder / "validator.keystore.json", INTRUDER_KEY, "qbft-test-password")
    config = json.loads((intruder / "network.json").read_text())
    intruder_port = free_port_block(1)
    config["p2p_port"] = intruder_port + 100
    (intruder / "network.json").write_text(json.dumps(config))
    try:
        net.start()
        load = Load(net, targets=[4], rate=10).start()  # sent to the RPC node, forwarded to the proposer
        try:
            advances(net, 0, 3, 30)
        finally:
            load.stop()
        assert_exactly_once(net, 0, load.acked)
        head = net.head(0)
        wait_until(lambda: net.head(4) >= head, 20, "the RPC node to follow")
        net.assert_no_fork([0, 1, 2, 3, 4])
        assert net.status(4)["validator"] is False

        with open(tmp_path / "intruder.log", "wb") as log:
            net.procs[9] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "node.cli",
                    "run",
                    "--data-dir",
                    str(intruder),
                    "--rpc-port",
                    str(intruder_port),
                    "--rpc-jwt-key",
                    str(net.key_file),
                ],
                cwd=ROOT,
                env=net.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        spy = Rpc(f"http://127.0.0.1:{intruder_port}", token=net.token)
        wait_until(lambda: spy.call("eth_chainId") is not None, 30, "intruder RPC")
        wait_until(lambda: sum(net.status(i)["refusedPeers"] for i in range(4)) >= 2, 20, "refused handshakes")
        assert spy.call("net_peerCount") == "0x0"
        assert int(spy.call("eth_blockNumber"), 16) == 0, "an unpermitted node gets no blocks"
        # the operators allow it at run time (Besu's perm_addNodesToAllowlist): it peers and syncs
        intruder_id = INTRUDER_KEY.public_key.to_bytes().hex()
        intruder_enode = f"enode://{intruder_id}@127.0.0.1:{intruder_port + 100}"
        for i in range(5):
            assert net.admin(i, "perm_addNodesToAllowlist", [intruder_enode]) == "Success"
        head = net.head(0)
        wait_until(lambda: int(spy.call("eth_blockNumber"), 16) >= head, 30, "the newly allowed node to sync")
        for i in range(5):
            net.admin(i, "perm_removeNodesFromAllowlist", [intruder_enode])
        wait_until(lambda: spy.call("net_peerCount") == "0x0", 10, "the removed node to be disconnected")
        spy.close()

        # the RPC node holds a key outside the validator set: its self-sealed block is refused everywhere
        forged = net.rpcs[4].call("reponet_testForgeBlock")
        time.sleep(1.5)
        for i in range(4):
            assert net.rpcs[i].call("eth_getBlockByHash", forged, False) is None
        assert any("non-validator" in f for i in range(4) for f in net.status(i)["recentFaults"])
        load = Load(net, targets=[0], rate=10).start()
        try:
            advances(net, 0, 2, 20)
        finally:
            load.stop()
        net.assert_no_fork([0, 1, 2, 3, 4])
    finally:
        net.close()


def test_add_a_fifth_validator_by_vote_then_remove_one(tmp_path: Path) -> None:
    net = Network(tmp_path / "net", validators=4, rpc_nodes=1)
    try:
        net.start()
        newcomer, leaving = net.address(4), net.address(1)
        load = Load(net, targets=[0], rate=10).start()
        try:
            for i in (0, 1, 2):  # more than half of 4
                net.admin(i, "qbft_proposeValidatorVote", newcomer, True)
            assert net.rpcs[0].call("qbft_getPendingVotes") == {newcomer: True}
            wait_until(
                lambda: newcomer in net.rpcs[0].call("qbft_getValidatorsByBlockNumber", "latest"),
                40,
                "the fifth validator to be voted in",
            )
            assert len(net.rpcs[0].call("qbft_getValidatorsByBlockNumber", "latest")) == 5
            wait_until(
                lambda: any(
                    m["address"] == newcomer and int(m["proposedBlockCount"], 16) > 0
                    for m in net.rpcs[0].call("qbft_getSignerMetrics")
                ),
                40,
                "the new validator to propose a block",
            )
            assert net.status(4)["validator"] is True
            for i in (0, 2, 3):  # more than half of 5
                net.admin(i, "qbft_proposeValidatorVote", leaving, False)
            wait_until(
                lambda: leaving not in net.rpcs[0].call("qbft_getValidatorsByBlockNumber", "latest"),
                40,
                "validator 1 to be voted out",
            )
            advances(net, 0, 4, 30)
            assert net.rpcs[0].call("qbft_getPendingVotes") == {}
            head = net.head(0)
            wait_until(lambda: net.head(1) >= head, 20, "the removed validator to keep following")
        finally:
            load.stop()
        net.assert_no_fork([0, 1, 2, 3, 4])
        assert_exactly_once(net, 0, load.acked)
    finally:
        net.close()
