"""Bells: the relayer and the indexer ring when a settlement ends or a block is indexed, so that the work waiting on
them (the relayer for new settlements, ``…/wait`` for an end and its block) moves at once instead of at its next
poll. Polls stay behind them, longer, in case a ring is lost.

- ``Bell``: in one process, rung from a worker thread, waited on by threads or by coroutines on an event loop.
- ``Doorbell``: across processes on one machine (an HTTP worker of several and ``reponet gateway work``): a Unix
  datagram socket per listening process in a directory of the data directory; ringing sends one byte to each,
  never blocks and never fails (a listener that is gone, or a full buffer, just means its poll finds the change).
  The byte says what the ring is about (a topic), so that a listener wakes only the readers it concerns: a block
  indexed wakes a worker's chain event tail, not its risk message tail. A listener's queue is short (Linux keeps
  ten datagrams), so rings for ``…/wait`` and for the message tails go to sockets of their own: a burst of one
  kind cannot crowd out the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

logger = logging.getLogger(__name__)
UNIX_PATH_MAX = 107  # sun_path's length on Linux, less its terminating NUL
RELAYER = "relayer"  # the background process listens: an HTTP worker queued a settlement
WAITERS = "waiters"  # each HTTP worker listens: a settlement ended, or the indexer's cursor moved
MESSAGES = "messages"  # each HTTP worker listens: relayed or risk messages were committed (for its tails of them)
INSTRUCTIONS = "instructions"  # each HTTP worker listens: an instruction for the matching service was queued
WEBHOOKS = "webhooks"  # the process sending webhooks listens: deliveries were queued (gateway.events.webhooks)

# What a ring is about: its one byte.
ANY = b"\x01"  # anything: every reader the listener serves wakes
SETTLED = b"s"  # a settlement ended (the relayer): ``…/wait`` requests
INDEXED = b"i"  # the indexer's cursor moved: ``…/wait`` requests and the chain event tails
RELAYED = b"m"  # relayed messages committed (``gateway.events.relayed``): their tails
RISK = b"r"  # risk messages committed (``gateway.risk.messages``): their tails


def bells_dir(data_dir: Path) -> Path:
    """Where the doorbells of one gateway's processes live."""
    return data_dir / "bells"


class Bell:
    """Rung from any thread; each coroutine ``listening`` wakes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def ring(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for loop, event in listeners:
            with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits there any more
                loop.call_soon_threadsafe(event.set)

    def listeners(self) -> int:
        """How many wait for the next ring now."""
        with self._lock:
            return len(self._listeners)

    @contextlib.contextmanager
    def listening(self) -> Iterator[asyncio.Event]:
        """An event set at the next ring. Listen *before* checking what the ring announces, then await the event
        (``rung``): a ring between the check and the wait is not lost."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._listeners.add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                self._listeners.discard(entry)


async def rung(event: asyncio.Event, timeout: float) -> None:
    """Until ``event`` is set or ``timeout`` seconds pass."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=max(0.0, timeout))


class Doorbell:
    """The listening end in one process: a datagram socket at ``directory/<name>-<pid>``; every datagram rings
    ``bell`` (and calls ``also``), or with ``route`` is handed to it (its topic byte decides who wakes).
    ``ring_all(directory, name)`` rings every listener of that name."""

    def __init__(
        self,
        directory: Path,
        name: str,
        bell: Bell,
        also: Callable[[], None] | None = None,
        route: Callable[[bytes], None] | None = None,
    ) -> None:
        self.path = directory / f"{name}-{os.getpid()}"
        self.bell, self.also, self.route = bell, also, route
        self._socket: socket.socket | None = None

    def start(self, stop: threading.Event) -> threading.Thread | None:
        """Listen in a daemon thread until ``stop``; None when the socket cannot be made (polls do the work)."""
        if len(os.fsencode(self.path)) > UNIX_PATH_MAX:
            logger.info("no doorbell at %s (path too long for a Unix socket): polling only", self.path)
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.unlink(missing_ok=True)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            listener.bind(str(self.path))
            listener.settimeout(0.5)  # to see ``stop``
        except OSError as exc:
            logger.info("no doorbell at %s (%s): polling only", self.path, exc)
            return None
        self._socket = listener
        thread = threading.Thread(target=self._listen, args=(stop,), name="reponet-doorbell", daemon=True)
        thread.start()
        return thread

    def _listen(self, stop: threading.Event) -> None:
        assert self._socket is not None
        try:
            while not stop.is_set():
                try:
                    topic = self._socket.recv(64)
                except TimeoutError:
                    continue
                except OSError:
                    return
                try:
                    self._heard(topic)
                except Exception:  # the listener goes on: a reader it failed to wake has its poll
                    logger.exception("doorbell %s: a ring failed", self.path.name)
        finally:
            self._socket.close()
            self.path.unlink(missing_ok=True)

    def _heard(self, topic: bytes) -> None:
        if self.route is not None:
            self.route(topic)
            return
        self.bell.ring()
        if self.also is not None:
            self.also()


def ring_all(directory: Path, name: str, topic: bytes = ANY) -> None:
    """One datagram (``topic``) to each listener named ``name`` in ``directory``; never blocks, never raises."""
    try:
        targets = [p for p in directory.iterdir() if p.name.startswith(f"{name}-")]
    except OSError:
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for target in targets:
            with contextlib.suppress(OSError):  # gone (a stale socket file), or its buffer full: its poll covers it
                sender.sendto(topic, str(target))
