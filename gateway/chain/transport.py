"""JSON-RPC over HTTP(S) on a small pool of keep-alive standard-library connections.

web3's ``HTTPProvider`` goes through ``requests``: a prepared request, a cookie jar and adapter lookups on every
call, about a sixth of the gateway's CPU per repo opened (some twenty node calls each). A plain ``http.client``
connection does the same work for a fraction of it. The wire format is web3's own (its request encoder), so every
web3 method works unchanged.

The pool is bounded: the gateway runs sync routes on up to 256 threads, and a connection per thread opened more
connections than the node admits from one address (64 by default, ``--rpc-connections-per-address``); the node
closed the excess at once and opens under load failed as outages. A request waits for a free connection instead
(as long as the request timeout); more concurrent calls than a few would not make the node answer sooner.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from typing import Any, cast
from urllib.parse import urlsplit

from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from gateway.chain import guard
from gateway.chain.outage import reachability

# The server may close an idle kept-alive connection at any time; a request that meets such a close before any
# answer arrived was not processed and is sent once more on a fresh connection (every idle one is dropped first).
STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, BrokenPipeError, ConnectionResetError)


class NodeUnreachable(ConnectionError):
    """The node did not answer (transport failure, timeout, or an HTTP status other than 200): an outage, never
    the node's decision (gateway.chain.outage)."""


MAX_CONNECTIONS = 8  # per provider; a gateway process holds two (the market's and the KYC chain's)
BUSY_PAUSES = (0.02, 0.05, 0.1, 0.2, 0.4)  # seconds between the 6 asks of a node answering "over a limit"
LIMIT_EXCEEDED = -32005  # EIP-1474
HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "reponet-gateway"}


class KeepAliveHTTPProvider(JSONBaseProvider):
    """A web3 provider for ``http://`` and ``https://`` node URLs (TLS verified against the system's CAs)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 15.0,
        token: str | None = None,
        max_connections: int = MAX_CONNECTIONS,
        wait: float | None = None,
    ) -> None:
        """``token``: the node's JSON-RPC bearer token (REPONET_CHAIN_RPC_TOKEN), sent with every request.
        ``max_connections``: at most this many connections open at once; a request beyond them waits for one up to
        ``wait`` seconds (default: the request timeout)."""
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        super().__init__()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an HTTP(S) JSON-RPC URL: {url!r}")
        self.endpoint_uri = url
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._ssl = ssl.create_default_context() if self._https else None
        self._max = max_connections
        self._wait = timeout if wait is None else wait
        self._idle: list[http.client.HTTPConnection] = []  # kept alive, free; the last returned is taken first
        self._open = 0  # idle or lent out
        self._free = threading.Condition()
        self._headers = {**HEADERS, "Authorization": f"Bearer {token}"} if token else HEADERS

    def __str__(self) -> str:
        return f"RPC connection {self.endpoint_uri}"

    def _new(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _take(self) -> http.client.HTTPConnection:
        """A free kept-alive connection, a new one while fewer than the maximum are open, or the first one given
        back within the wait (else ``NodeUnreachable``: the node is too slow to answer, an outage)."""
        deadline = time.monotonic() + self._wait
        with self._free:
            while True:
                if self._idle:
                    return self._idle.pop()
                if self._open < self._max:
                    self._open += 1
                    return self._new()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NodeUnreachable(
                        f"JSON-RPC {self.endpoint_uri}: all {self._max} connections busy for {self._wait:g} s"
                    )
                self._free.wait(left)  # given back, or the wait is over: the checks above run again

    def _give_back(self, connection: http.client.HTTPConnection, keep: bool) -> None:
        with self._free:
            if keep:
                self._idle.append(connection)
            else:
                connection.close()
                self._open -= 1
            self._free.notify()

    def _drop_idle(self) -> None:
        """Close every idle connection: the server closed the most recently used one while it sat idle, so the
        others, idle for longer, are closed as well (a node closes idle connections after its keep-alive timeout),
        and the call asked again must not meet one of them."""
        with self._free:
            for connection in self._idle:
                connection.close()
            self._open -= len(self._idle)
            self._idle.clear()
            self._free.notify_all()

    def post(self, body: bytes) -> bytes:
        """POST ``body`` and return the answer's body; transport failures and non-200 answers raise
        ``NodeUnreachable`` (a ``ConnectionError``, an ``OSError`` as ``requests`` raises). Refused inside a database
        write transaction where the guard is on (gateway.chain.guard)."""
        guard.check(f"JSON-RPC {self.endpoint_uri}")
        try:
            data = self._post(body)
        except NodeUnreachable:
            reachability.failed()
            raise
        reachability.answered()
        return data

    def _post(self, body: bytes) -> bytes:
        for attempt in (1, 2):
            connection = self._take()
            reused = connection.sock is not None
            keep = False
            try:
                connection.request("POST", self._path, body=body, headers=self._headers)
                response = connection.getresponse()
                data = response.read()
                keep = not response.will_close
            except STALE as exc:
                if reused and attempt == 1:
                    self._drop_idle()  # idle longer than this one (the last given back is taken first): closed too
                    continue
                raise NodeUnreachable(f"JSON-RPC {self.endpoint_uri}: {exc!r}") from exc
            except (OSError, http.client.HTTPException) as exc:
                raise NodeUnreachable(f"JSON-RPC {self.endpoint_uri}: {exc!r}") from exc
            finally:
                self._give_back(connection, keep)
            if response.status != 200:
                raise NodeUnreachable(f"JSON-RPC {self.endpoint_uri}: HTTP {response.status}: {data[:200]!r}")
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        """One call; an answer "over a limit" (EIP-1474 -32005: the node refused it before doing anything, e.g.
        more concurrent calls from this client than it admits) is asked again after a short pause, and if the node
        stays busy it is an outage (``NodeUnreachable``), never the node's verdict on the call."""
        body = self.encode_rpc_request(method, params)
        answer = json.loads(self.post(body))
        for pause in BUSY_PAUSES:
            if not _over_limit(answer):
                return cast(RPCResponse, answer)
            time.sleep(pause)
            answer = json.loads(self.post(body))
        if not _over_limit(answer):
            return cast(RPCResponse, answer)
        raise NodeUnreachable(f"JSON-RPC {self.endpoint_uri}: node busy: {answer['error'].get('message')}")

    def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        answer = json.loads(self.post(self.encode_batch_rpc_request(requests)))
        if not isinstance(answer, list):
            return cast(RPCResponse, answer)  # an error about the batch as a whole
        return cast(list[RPCResponse], sorted(answer, key=lambda item: item.get("id", 0)))


def _over_limit(answer: Any) -> bool:
    error = answer.get("error") if isinstance(answer, dict) else None
    return isinstance(error, dict) and error.get("code") == LIMIT_EXCEEDED
