"""The p2p port against an outsider and against a proven but misbehaving peer, on real node processes.

One network for the module: validators 0, 1 and 2 run (3 of 4, a quorum) with empty blocks; the keys of validator 3
and of the RPC node 4, both on every node's allowlist but not running, let the test act as a proven peer.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
from eth_keys.datatypes import PrivateKey

from node.p2p.transport import framed
from node.qbft.messages import COMMIT, PROPOSAL, Commit, Prepare, encode_message
from node.qbft.state import make_seal
from scripts.harness.qbft_network import Network, wait_until
from tests.node.qbft.p2p_client import (
    closed_by_peer,
    connect,
    first_two_messages,
    length_prefix,
    listen_port,
    node_key,
    rss_bytes,
    target,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
OUTSIDER = PrivateKey(b"\x42" * 32)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    network = Network(tmp_path_factory.mktemp("p2p") / "net", validators=4, rpc_nodes=1)
    try:
        network.start(0, 1, 2, extra=("--empty-blocks",))
        wait_until(lambda: network.head(0) >= 2, 60, "the first blocks")
        yield network
    finally:
        network.close()


def status(net: Network, i: int) -> dict[str, Any]:
    return net.status(i)


def link_to(net: Network, i: int, pubkey: bytes) -> dict[str, Any] | None:
    for peer in net.admin(i, "admin_peers"):
        if peer["id"] == "0x" + pubkey.hex():
            return dict(peer["network"])
    return None


def test_a_relayed_identity_is_refused_and_the_real_link_kept(net: Network) -> None:
    """A keyless party takes validator Y's signed identity from its own session with Y and presents it to X: the
    signature covers Y's session, not this one, so X refuses, and X's link to the real Y stays as it was. The same
    client presenting an identity it can sign (node 4's allowlisted key) is accepted: the refusal is the binding."""
    x, y = target(net, 0), target(net, 1)
    wait_until(lambda: link_to(net, 0, y.pubkey) is not None, 30, "X linked to Y")
    before = link_to(net, 0, y.pubkey)
    failed = status(net, 0)["failedHandshakes"]

    async def relay() -> bool:
        _, y_identity, _, y_writer = await first_two_messages(y)  # Y proves itself to us, for OUR session with Y
        hs, _, reader, writer = await first_two_messages(x)
        writer.write(framed(hs.write_message_3_keys() + hs.write_payload(y_identity)))
        refused = await closed_by_peer(reader, 15)
        y_writer.close()
        writer.close()
        return refused

    assert asyncio.run(relay()), "X must close a connection that presents a relayed identity"
    wait_until(lambda: status(net, 0)["failedHandshakes"] > failed, 10, "the refusal counted")
    assert link_to(net, 0, y.pubkey) == before, "X keeps its real link to Y"
    assert all(peer["id"] != "0x" + y.pubkey.hex() or peer["network"] == before for peer in net.admin(0, "admin_peers"))

    key4 = node_key(net, 4)

    async def control() -> None:
        session = await connect(x, key4, listen_port(net, 4))
        wait_until(lambda: link_to(net, 0, key4.public_key.to_bytes()) is not None, 10, "X to accept node 4")
        session.close()

    asyncio.run(control())
    assert link_to(net, 0, y.pubkey) == before


def test_unproven_oversized_messages_are_refused_before_any_allocation(net: Network) -> None:
    """Eight connections each announce a 32 MiB first message and stream it: each is closed after the 4-byte length,
    and the node's memory does not grow by what they sent (before: about 33 MB per connection)."""
    pid = net.procs[0].pid
    x = target(net, 0)
    rss_before = rss_bytes(pid)
    failed_before = status(net, 0)["failedHandshakes"]
    refused_before = status(net, 0)["refusedConnections"]
    chunk = os.urandom(1 << 20)

    async def flood() -> list[bool]:
        async def one() -> bool:
            reader, writer = await asyncio.open_connection(x.host, x.port)
            try:
                writer.write(length_prefix(32 * 1024 * 1024))
                for _ in range(32):
                    writer.write(chunk)
                    await writer.drain()
            except (ConnectionError, OSError):
                return True  # the node closed the connection while we were still sending
            closed = await closed_by_peer(reader, 15)
            writer.close()
            return closed

        return list(await asyncio.gather(*(one() for _ in range(8))))

    assert all(asyncio.run(flood())), "every oversized unproven message ends its connection"
    after = status(net, 0)
    closed = (after["failedHandshakes"] - failed_before) + (after["refusedConnections"] - refused_before)
    assert closed >= 8
    grown = rss_bytes(pid) - rss_before
    print(f"RSS before {rss_before / 1e6:.0f} MB, after 8 oversized connections {rss_bytes(pid) / 1e6:.0f} MB")
    assert grown < 32 * 1024 * 1024, f"the node allocated {grown} bytes for unproven connections"
    wait_until(lambda: net.head(0) >= net.head(1) - 1, 10, "node 0 to keep up")


def test_a_silent_connection_is_closed_when_the_handshake_times_out(net: Network) -> None:
    x = target(net, 0)
    failed = status(net, 0)["failedHandshakes"]

    async def silent() -> bool:
        from node.p2p.noise import Handshake
        from node.p2p.transport import prologue

        reader, writer = await asyncio.open_connection(x.host, x.port)
        hs = Handshake(initiator=True, prologue=prologue(x.genesis_hash))
        writer.write(framed(hs.write_message_1()))  # message 1, then nothing: the node waits for message 3
        closed = await closed_by_peer(reader, 30)
        writer.close()
        return closed

    assert asyncio.run(silent())
    wait_until(lambda: status(net, 0)["failedHandshakes"] > failed, 10, "the timeout counted")


def test_unproven_connections_per_address_are_capped(net: Network) -> None:
    """Four unproven connections from one address are held (until their handshake times out); more are closed at
    once, counted as refused connections, not as handshakes that failed or timed out."""
    x = target(net, 0)

    async def hog() -> None:
        held = []
        for k in range(4):
            held.append(await asyncio.open_connection(x.host, x.port))
            await asyncio.to_thread(
                wait_until, lambda k=k: status(net, 0)["unprovenConnections"] >= k + 1, 5, "the connection held"
            )
        refused = status(net, 0)["refusedConnections"]
        extra = [await asyncio.open_connection(x.host, x.port) for _ in range(2)]
        assert all([await closed_by_peer(r, 4) for r, _ in extra])
        assert status(net, 0)["refusedConnections"] == refused + 2
        for _, w in held + extra:
            w.close()

    asyncio.run(hog())
    wait_until(lambda: status(net, 0)["unprovenConnections"] == 0, 15, "the held connections to end")


def test_an_invalid_consensus_message_from_a_proven_peer_is_not_forwarded(net: Network) -> None:
    """Validator 3's key (proven) sends X garbage and then one valid vote; node 4's key (proven) listens to what X
    forwards. X handles a peer's messages in order, so once the valid vote arrives, any forwarded garbage would have
    arrived before it."""
    x = target(net, 0)
    v3, listener_key = node_key(net, 3), node_key(net, 4)

    async def probe() -> tuple[list[tuple[int, bytes]], set[tuple[int, bytes]]]:
        listener = await connect(x, listener_key, listen_port(net, 4))
        sender = await connect(x, v3, listen_port(net, 3))
        height = await asyncio.to_thread(net.head, 0) + 3
        digest = os.urandom(32)
        garbage = [
            encode_message(Prepare(height, 0, digest).signed(OUTSIDER)),  # not a validator
            (PROPOSAL, b"\xc5\x01\x02\x03\x04\x05"),  # does not decode
            encode_message(Commit(height, 1000, digest, make_seal(v3, digest)).signed(v3)),  # round far ahead
            # the valid vote's own bytes sent first under another code: neither forwarded nor making X drop the vote
            (COMMIT, encode_message(Prepare(height, 0, digest).signed(v3))[1]),
        ]
        sentinel = encode_message(Prepare(height, 0, digest).signed(v3))
        for code, payload in [*garbage, sentinel]:
            sender.send(code, payload)
        await sender.writer.drain()
        seen: list[tuple[int, bytes]] = []
        async with asyncio.timeout(30):
            while sentinel not in seen:
                seen.append(await listener.receive())
        sender.close()
        listener.close()
        return seen, set(garbage)

    seen, garbage = asyncio.run(probe())
    assert not garbage & set(seen), "X forwarded a message that fails its checks"
    faults = status(net, 0)["recentFaults"]
    assert sum("not forwarded" in f for f in faults) >= 4, faults
    assert any("non-validator" in f for f in faults)


def test_the_network_still_finalizes(net: Network) -> None:
    start = net.head(0)
    wait_until(lambda: min(net.head(i) for i in range(3)) >= start + 3, 30, "three more blocks on every node")
    net.assert_no_fork([0, 1, 2])
