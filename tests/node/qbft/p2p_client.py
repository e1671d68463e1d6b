"""A test's side of the p2p port: a real client of the node's transport (node.p2p.transport), and the raw socket
tricks an outsider would try. Only for tests: nothing here is used by the node."""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import dataclass
from pathlib import Path

from eth_keys.datatypes import PrivateKey

from node.keystore import load_keystore
from node.p2p.noise import Handshake
from node.p2p.transport import (
    MAX_HANDSHAKE_FRAME,
    Identity,
    SecureChannel,
    framed,
    initiate,
    prologue,
    read_body,
)
from scripts.harness.qbft_network import Network

PASSWORD = "qbft-test-password"


@dataclass(frozen=True)
class Target:
    """A node's p2p endpoint and what a client needs to reach it: its node key and the chain's genesis hash."""

    host: str
    port: int
    pubkey: bytes
    genesis_hash: bytes


def target(net: Network, i: int) -> Target:
    node = net.summary["nodes"][i]
    enode = str(node["enode"])
    genesis = net.rpcs[i].call("eth_getBlockByNumber", "0x0", False)["hash"]
    return Target("127.0.0.1", int(node["p2p_port"]), bytes.fromhex(enode[8:136]), bytes.fromhex(genesis[2:]))


def node_key(net: Network, i: int) -> PrivateKey:
    return load_keystore(net.data_dir(i) / "validator.keystore.json", PASSWORD)


def listen_port(net: Network, i: int) -> int:
    return int(json.loads((net.data_dir(i) / "network.json").read_text())["p2p_port"])


@dataclass
class Session:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    channel: SecureChannel
    remote: Identity

    def send(self, code: int, payload: bytes) -> None:
        self.writer.write(self.channel.seal(code, payload))

    async def receive(self) -> tuple[int, bytes]:
        return await self.channel.read(self.reader)

    def close(self) -> None:
        self.writer.close()


async def connect(node: Target, key: PrivateKey, port: int) -> Session:
    """A full, honest handshake as the node of ``key`` (which listens on ``port``, as its enode says)."""
    reader, writer = await asyncio.open_connection(node.host, node.port)

    def permitted(_: Identity) -> None:
        return None

    remote, channel = await asyncio.wait_for(
        initiate(reader, writer, key, node.genesis_hash, port, node.pubkey, permitted), 10
    )
    return Session(reader, writer, channel, remote)


async def first_two_messages(node: Target) -> tuple[Handshake, bytes, asyncio.StreamReader, asyncio.StreamWriter]:
    """Messages 1 and 2 of a handshake with ``node`` as initiator: (our state, the node's identity payload, streams)."""
    reader, writer = await asyncio.open_connection(node.host, node.port)
    hs = Handshake(initiator=True, prologue=prologue(node.genesis_hash))
    writer.write(framed(hs.write_message_1()))
    await writer.drain()
    _, message = await asyncio.wait_for(read_body(reader, MAX_HANDSHAKE_FRAME), 10)
    payload = hs.read_payload(hs.read_message_2_keys(message))
    return hs, payload, reader, writer


async def closed_by_peer(reader: asyncio.StreamReader, timeout: float) -> bool:
    """Whether the other side closes the connection (EOF or reset) within ``timeout``, reading whatever it sends."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except (ConnectionError, OSError):
        return True
    return True


def length_prefix(length: int) -> bytes:
    return struct.pack(">I", length)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")
