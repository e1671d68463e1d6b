"""Mutually authenticated peer connections over TCP (asyncio streams) and message fan-out.

Frames are ``length (4 bytes, big-endian) || code (1 byte) || payload``. A connection starts with a handshake
in which each side proves its node key: both send ``HELLO = RLP[version, genesis hash, public key, nonce,
listen port]``; each then signs ``keccak("reponet-p2p-auth" || genesis hash || the OTHER side's nonce || its
own public key)`` and sends it as ``AUTH``. A side accepts the connection only when the signature recovers to
the public key of the HELLO (so nobody can replay another node's handshake: the nonce is fresh), the genesis
is its own, and a dialled node is the one its enode URL names. Node permissioning is checked on the HELLO's key
before sending AUTH, so with an unpermitted node the handshake completes on neither side. After the handshake,
frames carry the application's codes (consensus messages 0x12-0x15, transactions, sync).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import rlp
from eth_hash.auto import keccak
from eth_keys.datatypes import PrivateKey, PublicKey, Signature
from rlp.sedes import big_endian_int

from node.p2p.enode import Enode
from node.p2p.permissions import NodePermissioner

logger = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
HELLO = 0x00
AUTH = 0x01
MAX_FRAME = 32 * 1024 * 1024
HANDSHAKE_TIMEOUT = 5.0
SEND_QUEUE_LIMIT = 20_000
DIAL_INTERVAL = 0.5
AUTH_DOMAIN = b"reponet-p2p-auth"


class HandshakeFailed(Exception):
    pass


@dataclass
class Faults:
    """Test-only fault injection (``--test-faults``): drop all traffic with the given node addresses."""

    dropped: set[bytes] = field(default_factory=set)


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readexactly(5)
    length, code = struct.unpack(">IB", head)
    if length > MAX_FRAME:
        raise HandshakeFailed(f"frame of {length} bytes exceeds the limit")
    return code, await reader.readexactly(length)


def frame(code: int, payload: bytes) -> bytes:
    return struct.pack(">IB", len(payload), code) + payload


def auth_digest(genesis_hash: bytes, nonce: bytes, signer_pubkey: bytes) -> bytes:
    return keccak(AUTH_DOMAIN + genesis_hash + nonce + signer_pubkey)


class Peer:
    def __init__(
        self,
        manager: PeerManager,
        enode: Enode,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        dialled: bool,
    ) -> None:
        self.manager = manager
        self.enode = enode
        self.address = enode.address
        self.reader = reader
        self.writer = writer
        self.dialled = dialled
        self.head_number = -1
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.closed = False

    @property
    def pubkey(self) -> bytes:
        return self.enode.pubkey

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._write_loop(), name=f"peer-write-{self.enode.port}"),
            asyncio.create_task(self._read_loop(), name=f"peer-read-{self.enode.port}"),
        ]

    def send(self, code: int, payload: bytes) -> None:
        if self.closed or self.address in self.manager.faults.dropped:
            return
        if self._queue.qsize() >= SEND_QUEUE_LIMIT:
            logger.warning("peer %s: send queue full, dropping a message", self)
            return
        self._queue.put_nowait(frame(code, payload))

    async def _write_loop(self) -> None:
        try:
            while True:
                data = await self._queue.get()
                if data is None:
                    break
                self.writer.write(data)
                if self._queue.empty():
                    await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()

    async def _read_loop(self) -> None:
        try:
            while True:
                code, payload = await read_frame(self.reader)
                if self.address in self.manager.faults.dropped:
                    continue
                try:
                    await self.manager.handler(self, code, payload)
                except Exception:  # a bad message from a peer must not kill the connection loop
                    logger.exception("peer %s: handling message 0x%02x failed", self, code)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, HandshakeFailed):
            pass
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):  # already closed
            self.writer.close()
        self.manager.on_closed(self)

    async def wait_closed(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def __str__(self) -> str:
        return f"0x{self.address.hex()[:8]}@{self.enode.host}:{self.enode.port}"


Handler = Callable[[Peer, int, bytes], Awaitable[None]]


class PeerManager:
    def __init__(
        self,
        key: PrivateKey,
        genesis_hash: bytes,
        host: str,
        port: int,
        static_peers: list[Enode],
        permissioner: NodePermissioner,
        handler: Handler,
        on_connect: Callable[[Peer], None],
        faults: Faults | None = None,
    ) -> None:
        self.key = key
        self.pubkey = bytes(key.public_key.to_bytes())
        self.address = bytes(key.public_key.to_canonical_address())
        self.genesis_hash = genesis_hash
        self.host = host
        self.port = port
        self.enode = Enode(self.pubkey, host, port)
        self.static_peers = [p for p in static_peers if p.pubkey != self.pubkey]
        self.permissioner = permissioner
        self.handler = handler
        self.on_connect = on_connect
        self.faults = faults or Faults()
        self.peers: dict[bytes, Peer] = {}
        self._server: asyncio.Server | None = None
        self._dial_task: asyncio.Task[None] | None = None
        self.refused = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)
        self._dial_task = asyncio.create_task(self._dial_loop(), name="p2p-dial")

    async def stop(self) -> None:
        if self._dial_task is not None:
            self._dial_task.cancel()
            await asyncio.gather(self._dial_task, return_exceptions=True)
        if self._server is not None:
            self._server.close()
        peers = list(self.peers.values())
        for peer in peers:
            peer.close()
        await asyncio.gather(*(p.wait_closed() for p in peers), return_exceptions=True)

    # fan-out ---------------------------------------------------------------------------------------
    def broadcast(self, code: int, payload: bytes, only: Callable[[Peer], bool] | None = None) -> None:
        for peer in list(self.peers.values()):
            if only is None or only(peer):
                peer.send(code, payload)

    def connected(self) -> list[Peer]:
        return list(self.peers.values())

    # connections -----------------------------------------------------------------------------------
    async def _dial_loop(self) -> None:
        while True:
            for enode in self.static_peers:
                if enode.pubkey not in self.peers:
                    try:
                        await asyncio.wait_for(self._dial(enode), HANDSHAKE_TIMEOUT)
                    except (TimeoutError, OSError, HandshakeFailed, asyncio.IncompleteReadError) as exc:
                        logger.debug("dial %s failed: %s", enode, exc)
            await asyncio.sleep(DIAL_INTERVAL)

    async def _dial(self, enode: Enode) -> None:
        reader, writer = await asyncio.open_connection(enode.host, enode.port)
        try:
            remote = await self._handshake(reader, writer, expected=enode)
        except BaseException:
            writer.close()
            raise
        self._register(Peer(self, remote, reader, writer, dialled=True))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            remote = await asyncio.wait_for(self._handshake(reader, writer, expected=None), HANDSHAKE_TIMEOUT)
        except (TimeoutError, OSError, HandshakeFailed, asyncio.IncompleteReadError) as exc:
            logger.info("refused an incoming connection: %s", exc)
            writer.close()
            return
        self._register(Peer(self, remote, reader, writer, dialled=False))

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, expected: Enode | None
    ) -> Enode:
        nonce = secrets.token_bytes(32)
        writer.write(frame(HELLO, rlp.encode([PROTOCOL_VERSION, self.genesis_hash, self.pubkey, nonce, self.port])))
        await writer.drain()
        code, payload = await read_frame(reader)
        if code != HELLO:
            raise HandshakeFailed("expected HELLO")
        try:
            version, genesis, pubkey, their_nonce, listen_port = rlp.decode(payload)
            port = big_endian_int.deserialize(listen_port)
            ver = big_endian_int.deserialize(version)
        except Exception as exc:  # malformed HELLO
            raise HandshakeFailed(f"bad HELLO: {exc}") from exc
        if ver != PROTOCOL_VERSION or genesis != self.genesis_hash:
            raise HandshakeFailed("peer runs another protocol version or chain")
        if len(pubkey) != 64 or len(their_nonce) != 32 or pubkey == self.pubkey:
            raise HandshakeFailed("bad HELLO identity")
        if expected is not None and pubkey != expected.pubkey:
            raise HandshakeFailed("dialled node answered with another node key")
        # permission first (on the claimed key): an unpermitted node never sees our AUTH, so on neither side does
        # the handshake complete; a node claiming a permitted key must still prove it below
        peername = writer.get_extra_info("peername")
        host = expected.host if expected is not None else (peername[0] if peername else "")
        remote = Enode(pubkey, host, port)
        if not self.permissioner.is_allowed(pubkey, host, port):
            self.refused += 1
            logger.warning("node %s is not permitted to connect (not on the node allowlist)", remote)
            raise HandshakeFailed(f"node {pubkey.hex()[:16]}... not permitted")
        signature = self.key.sign_msg_hash(auth_digest(self.genesis_hash, their_nonce, self.pubkey))
        writer.write(frame(AUTH, signature.to_bytes()))
        await writer.drain()
        code, payload = await read_frame(reader)
        if code != AUTH or len(payload) != 65:
            raise HandshakeFailed("expected AUTH")
        try:
            recovered = Signature(payload).recover_public_key_from_msg_hash(
                auth_digest(self.genesis_hash, nonce, pubkey)
            )
        except Exception as exc:  # a signature that does not recover
            raise HandshakeFailed(f"AUTH signature invalid: {exc}") from exc
        if recovered != PublicKey(pubkey):
            raise HandshakeFailed("AUTH not signed by the HELLO's node key")
        return remote

    def _register(self, peer: Peer) -> None:
        existing = self.peers.get(peer.pubkey)
        if existing is not None and not existing.closed:
            # two connections between the same nodes (both dialled): keep the one dialled by the smaller key,
            # which both sides choose alike; a re-dial in the same direction replaces a stale connection
            if existing.dialled == peer.dialled:
                keep_new = True
            else:
                dialer = self.pubkey if peer.dialled else peer.pubkey
                keep_new = dialer == min(self.pubkey, peer.pubkey)
            if not keep_new:
                peer.closed = True
                peer.writer.close()
                return
            self.peers[peer.pubkey] = peer
            existing.close()
        self.peers[peer.pubkey] = peer
        peer.start()
        logger.info("peer connected: %s (%d peers)", peer, len(self.peers))
        self.on_connect(peer)

    def on_closed(self, peer: Peer) -> None:
        if self.peers.get(peer.pubkey) is peer:
            del self.peers[peer.pubkey]
            logger.info("peer disconnected: %s (%d peers)", peer, len(self.peers))
