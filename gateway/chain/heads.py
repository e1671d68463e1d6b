"""The chain's head as the node pushes it: one ``eth_subscribe("newHeads")`` on a WebSocket to the node's JSON-RPC
port, instead of the relayer, the indexer and the followers each asking ``eth_blockNumber`` on every tick (the
relayer ticks every 50 ms while a settlement is pending: most of an open's JSON-RPC calls were that question).

The pushed head is only a shortcut: while the subscription is down, or has said nothing for ``TRUST_SECONDS``
(a chain that mines on demand, a stalled connection), readers ask the node as before
(``gateway.settlement.market.Market.head_number``). The connection carries the same bearer token as every other
JSON-RPC request, and is made again with backoff when it drops (the node closes it when the token expires).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from websockets.sync.client import connect

logger = logging.getLogger(__name__)

TRUST_SECONDS = 10.0  # a pushed head older than this is not trusted: the node is asked
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
SUBSCRIBED_IDLE_SECONDS = 1.0  # the idle tick of a loop that each pushed head wakes (indexer, followers)


@dataclass(frozen=True)
class Head:
    """A block header as pushed: its number and timestamp, and when (monotonic) it arrived."""

    number: int
    timestamp: int
    seen_at: float


def websocket_url(rpc_url: str) -> str | None:
    """The node's WebSocket URL for an HTTP(S) JSON-RPC URL (same host, port and path), else None."""
    parts = urlsplit(rpc_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme)
    return None if scheme is None else urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))


class HeadWatcher:
    """Follows ``newHeads`` on one WebSocket until stopped; ``latest`` is the last head pushed while the
    subscription is up and recent, else None. ``listeners`` are called (on the watcher's thread) with each head."""

    def __init__(self, url: str, *, token: str | None = None) -> None:
        self.url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._ssl = ssl.create_default_context() if url.startswith("wss:") else None
        self._lock = threading.Lock()
        self._head: Head | None = None
        self._subscribed = False
        self.listeners: list[Callable[[Head], None]] = []

    def subscribed(self) -> bool:
        """The subscription is up: a new block will be pushed, and will call the listeners. Unlike ``latest``,
        true on a chain that mines on demand and has been quiet for longer than ``TRUST_SECONDS``."""
        with self._lock:
            return self._subscribed

    def latest(self, now: float | None = None) -> Head | None:
        with self._lock:
            head = self._head
        if head is None or (now if now is not None else time.monotonic()) - head.seen_at > TRUST_SECONDS:
            return None
        return head

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="reponet-heads", daemon=True)
        thread.start()
        return thread

    def run(self, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                self._follow(stop)
                failures = 0
            except Exception as exc:  # any failure: not trusted until subscribed again
                if failures == 0:
                    logger.info("head subscription to %s down (%s); polling meanwhile", self.url, exc)
                failures += 1
            with self._lock:
                self._head, self._subscribed = None, False
            stop.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])

    def _follow(self, stop: threading.Event) -> None:
        with connect(self.url, additional_headers=self._headers, ssl=self._ssl, open_timeout=5, close_timeout=1) as ws:
            ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}))
            answer = json.loads(ws.recv(timeout=5))
            if "result" not in answer:
                raise ConnectionError(f"eth_subscribe refused: {answer.get('error')}")
            with self._lock:
                self._subscribed = True
            while not stop.is_set():
                try:
                    message = ws.recv(timeout=1.0)
                except TimeoutError:
                    continue
                header = json.loads(message).get("params", {}).get("result", {})
                head = Head(int(header["number"], 16), int(header["timestamp"], 16), time.monotonic())
                with self._lock:
                    self._head = head
                for listener in self.listeners:
                    listener(head)


def idle_seconds(heads: HeadWatcher | None, poll: float, subscribed: float = SUBSCRIBED_IDLE_SECONDS) -> float:
    """How long a loop that waits for new blocks sleeps after a tick that found nothing: ``subscribed`` while the
    node pushes its heads (each new block wakes the loop, so the tick only covers a lost push or a change that comes
    without a block), else ``poll``. An idle chain that mines on demand then costs a tick a second, not four."""
    return max(poll, subscribed) if heads is not None and heads.subscribed() else poll
