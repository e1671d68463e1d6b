"""Fuzzing the p2p port (Hypothesis, derandomized): thousands of malformed handshakes from outsiders and malformed
frames from a proven peer, while validators 0, 1 and 2 keep finalizing blocks.

Each handshake example is its own TCP connection to validator 0: raw bytes, length-prefixed messages of every size
(up to and over the 4 KiB cap), a real first message followed by garbage, and a real handshake whose third message
has one byte changed. The frame examples go over one proven session (node 4's allowlisted key): every message code
with random bytes or random RLP, and sealed frames the node cannot open. Afterwards every validator is alive, still
linked to the others, and has finalized more blocks.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Iterator

import pytest
import rlp
from eth_keys.datatypes import PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.p2p.noise import Handshake
from node.p2p.transport import MAX_HANDSHAKE_FRAME, framed, identity_payload, prologue
from scripts.harness.qbft_network import Network, wait_until
from tests.node.qbft.p2p_client import Session, Target, connect, listen_port, node_key, target

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
HANDSHAKE_EXAMPLES = 1500
FRAME_EXAMPLES = 1500
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    network = Network(tmp_path_factory.mktemp("p2p-fuzz") / "net", validators=4, rpc_nodes=1, log_level="warning")
    try:
        network.start(0, 1, 2, extra=("--empty-blocks",))
        wait_until(lambda: network.head(0) >= 2, 60, "the first blocks")
        yield network
    finally:
        network.close()


def _send(node: Target, data: bytes, read_reply: bool = False) -> bytes:
    """Send ``data`` on a fresh connection and close it; the node may close first (that is an answer too)."""
    with socket.create_connection((node.host, node.port), timeout=5) as sock:
        try:
            sock.sendall(data)
            return sock.recv(MAX_HANDSHAKE_FRAME + 4) if read_reply else b""
        except OSError:
            return b""


def _recv_message(sock: socket.socket) -> bytes:
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        if not chunk:
            raise ConnectionError("closed")
        head += chunk
    (length,) = struct.unpack(">I", head)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return body


def _mutated_third_message(node: Target, key: PrivateKey, port: int, position: int, flip: int) -> None:
    """A real handshake as the node of ``key`` whose third message has the byte at ``position`` xor-ed with ``flip``."""
    with socket.create_connection((node.host, node.port), timeout=5) as sock:
        try:
            hs = Handshake(initiator=True, prologue=prologue(node.genesis_hash))
            sock.sendall(framed(hs.write_message_1()))
            hs.read_payload(hs.read_message_2_keys(_recv_message(sock)))
            keys = hs.write_message_3_keys()
            message = bytearray(keys + hs.write_payload(identity_payload(key, port, hs.hash)))
            message[position % len(message)] ^= flip
            sock.sendall(framed(bytes(message)))
        except OSError:
            pass


raw_inputs = st.one_of(
    st.binary(max_size=5000),
    st.builds(framed, st.binary(max_size=MAX_HANDSHAKE_FRAME)),
    st.builds(lambda n, tail: struct.pack(">I", n) + tail, st.integers(0, 2**32 - 1), st.binary(max_size=2048)),
    st.builds(lambda a, b: framed(a) + framed(b), st.binary(min_size=32, max_size=64), st.binary(max_size=512)),
)


def test_malformed_handshakes(net: Network) -> None:
    node = target(net, 0)
    key, port = node_key(net, 4), listen_port(net, 4)
    before = net.head(0)
    samples = {"raw": 0, "mutated": 0}

    @settings(FUZZ, max_examples=HANDSHAKE_EXAMPLES)
    @given(
        kind=st.sampled_from(["raw", "raw", "raw", "mutated"]),
        data=raw_inputs,
        position=st.integers(0, 400),
        flip=st.integers(1, 255),
    )
    def fuzz(kind: str, data: bytes, position: int, flip: int) -> None:
        samples[kind] += 1
        if kind == "raw":
            _send(node, data)
        else:
            _mutated_third_message(node, key, port, position, flip)

    fuzz()
    assert sum(samples.values()) >= HANDSHAKE_EXAMPLES
    counters = net.status(0)
    print(f"{samples}: {counters['failedHandshakes']} failed handshakes, {counters['refusedConnections']} refused")
    assert counters["failedHandshakes"] >= HANDSHAKE_EXAMPLES // 2, "most connections reached the handshake"
    _assert_healthy(net, before)


rlp_items = st.recursive(st.binary(max_size=40), lambda inner: st.lists(inner, max_size=6), max_leaves=20)
codes = st.one_of(st.sampled_from([0x02, 0x03, 0x04, 0x05, 0x06, 0x12, 0x13, 0x14, 0x15]), st.integers(0, 255))
payloads = st.one_of(st.binary(max_size=2000), st.builds(lambda item: bytes(rlp.encode(item)), rlp_items))


def test_malformed_frames_from_a_proven_peer(net: Network) -> None:
    node = target(net, 0)
    before = net.head(0)
    key = node_key(net, 4)
    loop = asyncio.new_event_loop()
    sessions: list[tuple[Session, asyncio.Task[None]]] = []
    reconnects = 0
    sent = 0

    async def discard(s: Session) -> None:
        """Read and drop what the node sends (blocks, votes), so its writes never block; ends at its close."""
        try:
            while await s.reader.read(1 << 16):
                pass
        except (ConnectionError, OSError):
            pass

    def session() -> Session:
        nonlocal reconnects
        if not sessions or sessions[-1][1].done() or sessions[-1][0].writer.is_closing():
            if sessions:
                reconnects += 1
            s = loop.run_until_complete(connect(node, key, listen_port(net, 4)))
            sessions.append((s, loop.create_task(discard(s))))
        return sessions[-1][0]

    async def drain(s: Session) -> None:
        try:
            await asyncio.wait_for(s.writer.drain(), 5)
        except (ConnectionError, OSError, TimeoutError):
            s.writer.close()

    @settings(FUZZ, max_examples=FRAME_EXAMPLES)
    @given(code=codes, payload=payloads, corrupt=st.integers(0, 40))
    def fuzz(code: int, payload: bytes, corrupt: int) -> None:
        nonlocal sent
        sent += 1
        s = session()
        frame = s.channel.seal(code, payload)
        if corrupt == 0:  # one frame in about 40 does not authenticate: the node must end this session
            frame = frame[:4] + bytes([frame[4] ^ 1]) + frame[5:]
        s.writer.write(frame)
        loop.run_until_complete(drain(s))
        if corrupt == 0:
            s.writer.close()

    try:
        fuzz()
    finally:
        for s, task in sessions:
            s.close()
            task.cancel()
        loop.run_until_complete(asyncio.gather(*(t for _, t in sessions), return_exceptions=True))
        loop.close()
    print(f"{sent} frames, {reconnects} sessions ended by the node")
    assert sent >= FRAME_EXAMPLES
    assert reconnects > 0, "sealed frames that do not authenticate must have ended sessions"
    _assert_healthy(net, before)


def _assert_healthy(net: Network, before: int) -> None:
    for i in range(3):
        assert net.procs[i].poll() is None, f"node {i} exited:\n{net.log_tail(i)}"
    wait_until(lambda: min(net.head(i) for i in range(3)) >= before + 3, 60, "every validator to finalize more blocks")
    wait_until(lambda: all(net.status(i)["peers"] >= 2 for i in range(3)), 30, "the validators linked again")
    net.assert_no_fork([0, 1, 2])
