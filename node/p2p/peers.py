"""Peer connections over TCP (asyncio streams): proven, permitted, encrypted links and message fan-out.

A connection becomes a :class:`Peer` only after the handshake of :mod:`node.p2p.transport` proved the other node's
key for this very session and node permissioning allowed that proven key. Until then it is held to small limits
(:class:`PeerLimits`): messages of at most 4 KiB, 5 s to finish, a few unproven connections per remote address and
in total, and a cap on the connections one address may hold at all. A proven link to a node is replaced only by
another proven link to the same node (a re-dial after a restart, or the tie-break of two simultaneous dials); a
connection that fails to prove the key it claims never touches the existing link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from eth_keys.datatypes import PrivateKey

from node.p2p.enode import Enode
from node.p2p.permissions import NodePermissioner
from node.p2p.transport import HandshakeFailed, Identity, PermissionCheck, SecureChannel, initiate, respond

logger = logging.getLogger(__name__)

SEND_QUEUE_LIMIT = 20_000
DIAL_INTERVAL = 0.5
HANDSHAKE_ERRORS = (TimeoutError, OSError, HandshakeFailed, asyncio.IncompleteReadError)


@dataclass(frozen=True)
class PeerLimits:
    handshake_timeout: float = 5.0
    max_unproven: int = 32  # connections still in the handshake, in total
    max_unproven_per_address: int = 4
    max_per_address: int = 16  # inbound connections from one IP address, proven or not


@dataclass
class Faults:
    """Test-only fault injection (``--test-faults``): drop all traffic with the given node addresses."""

    dropped: set[bytes] = field(default_factory=set)


@dataclass
class PeerCounters:
    refused: int = 0  # proven node keys that node permissioning refused
    failed_handshakes: int = 0  # connections that did not complete a handshake (malformed, forged, timed out)
    refused_connections: int = 0  # closed at once: over a per-address or unproven-connection cap


class Peer:
    def __init__(
        self,
        manager: PeerManager,
        enode: Enode,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        channel: SecureChannel,
        dialled: bool,
    ) -> None:
        self.manager = manager
        self.enode = enode
        self.address = enode.address
        self.reader = reader
        self.writer = writer
        self.channel = channel
        self.dialled = dialled
        self.head_number = -1
        peername = writer.get_extra_info("peername")
        sockname = writer.get_extra_info("sockname")
        self.remote_address = f"{peername[0]}:{peername[1]}" if peername else ""
        self.local_address = f"{sockname[0]}:{sockname[1]}" if sockname else ""
        self._queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.closed = False
        self.done = asyncio.Event()

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
        self._queue.put_nowait((code, payload))

    async def _write_loop(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                if item is None:
                    break
                self.writer.write(self.channel.seal(*item))  # sealed in queue order: the nonces follow the stream
                if self._queue.empty():
                    await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.close()

    async def _read_loop(self) -> None:
        try:
            while True:
                code, payload = await self.channel.read(self.reader)
                if self.address in self.manager.faults.dropped:
                    continue
                try:
                    await self.manager.handler(self, code, payload)
                except Exception:  # a bad message from a peer must not kill the connection loop
                    logger.exception("peer %s: handling message 0x%02x failed", self, code)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, HandshakeFailed) as exc:
            logger.debug("peer %s: connection ends: %s", self, exc)
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):  # already closed
            self.writer.close()
        self.done.set()
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
        limits: PeerLimits | None = None,
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
        self.limits = limits or PeerLimits()
        self.peers: dict[bytes, Peer] = {}
        self.counters = PeerCounters()
        self._unproven = 0
        self._unproven_by_ip: Counter[str] = Counter()
        self._inbound_by_ip: Counter[str] = Counter()
        self._server: asyncio.Server | None = None
        self._dial_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)
        if self.port == 0:  # bound to a free port: read it back
            self.port = self._server.sockets[0].getsockname()[1]
            self.enode = Enode(self.pubkey, self.host, self.port)
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
                        await asyncio.wait_for(self._dial(enode), self.limits.handshake_timeout)
                    except HANDSHAKE_ERRORS as exc:
                        logger.debug("dial %s failed: %s", enode, exc)
            await asyncio.sleep(DIAL_INTERVAL)

    async def _dial(self, enode: Enode) -> None:
        reader, writer = await asyncio.open_connection(enode.host, enode.port)
        try:
            remote, channel = await initiate(
                reader, writer, self.key, self.genesis_hash, self.port, enode.pubkey, self._permission(enode.host)
            )
        except BaseException:
            writer.close()
            raise
        peer = Peer(self, Enode(remote.pubkey, enode.host, enode.port), reader, writer, channel, dialled=True)
        self._register(peer)

    @property
    def unproven(self) -> int:
        """Incoming connections still in their handshake."""
        return self._unproven

    def _admit(self, ip: str) -> bool:
        limits = self.limits
        if self._inbound_by_ip[ip] >= limits.max_per_address:
            reason = f"{limits.max_per_address} connections from {ip} already"
        elif self._unproven_by_ip[ip] >= limits.max_unproven_per_address:
            reason = f"{limits.max_unproven_per_address} unproven connections from {ip} already"
        elif self._unproven >= limits.max_unproven:
            reason = f"{limits.max_unproven} unproven connections already"
        else:
            return True
        self.counters.refused_connections += 1
        logger.debug("closed an incoming connection at once: %s", reason)
        return False

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        ip = str(peername[0]) if peername else ""
        if not self._admit(ip):
            writer.close()
            return
        self._inbound_by_ip[ip] += 1
        try:
            self._unproven += 1
            self._unproven_by_ip[ip] += 1
            try:
                remote, channel = await asyncio.wait_for(
                    respond(reader, writer, self.key, self.genesis_hash, self.port, self._permission(ip)),
                    self.limits.handshake_timeout,
                )
            except Exception as exc:  # whatever an unproven party sends ends only its own connection
                self.counters.failed_handshakes += 1
                logger.debug("incoming connection from %s failed its handshake: %s", ip, exc)
                return
            finally:
                self._unproven -= 1
                self._unproven_by_ip[ip] -= 1
            peer = Peer(self, Enode(remote.pubkey, ip, remote.listen_port), reader, writer, channel, dialled=False)
            if self._register(peer):
                await peer.done.wait()
        finally:
            self._inbound_by_ip[ip] -= 1
            if self._inbound_by_ip[ip] <= 0:
                del self._inbound_by_ip[ip]
            if self._unproven_by_ip[ip] <= 0:
                del self._unproven_by_ip[ip]
            with contextlib.suppress(Exception):  # already closed
                writer.close()

    def _permission(self, host: str) -> PermissionCheck:
        def check(remote: Identity) -> None:
            if remote.pubkey == self.pubkey:
                raise HandshakeFailed("connected to itself")
            if not self.permissioner.is_allowed(remote.pubkey, host, remote.listen_port):
                self.counters.refused += 1
                logger.warning(
                    "node %s is not permitted to connect (not on the node allowlist)",
                    Enode(remote.pubkey, host, remote.listen_port),
                )
                raise HandshakeFailed(f"node {remote.pubkey.hex()[:16]}... not permitted")

        return check

    def _register(self, peer: Peer) -> bool:
        """Make a proven peer the link to its node; False when the existing link is kept instead."""
        existing = self.peers.get(peer.pubkey)
        if existing is not None and not existing.closed:
            # two proven connections between the same nodes (both dialled): keep the one dialled by the smaller
            # key, which both sides choose alike; a proven re-dial in the same direction replaces a stale link
            if existing.dialled == peer.dialled:
                keep_new = True
            else:
                dialer = self.pubkey if peer.dialled else peer.pubkey
                keep_new = dialer == min(self.pubkey, peer.pubkey)
            if not keep_new:
                peer.closed = True
                peer.writer.close()
                return False
            self.peers[peer.pubkey] = peer
            existing.close()
        self.peers[peer.pubkey] = peer
        peer.start()
        logger.info("peer connected: %s (%d peers)", peer, len(self.peers))
        self.on_connect(peer)
        return True

    def on_closed(self, peer: Peer) -> None:
        if self.peers.get(peer.pubkey) is peer:
            del self.peers[peer.pubkey]
            logger.info("peer disconnected: %s (%d peers)", peer, len(self.peers))
