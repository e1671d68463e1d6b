"""JSON-RPC over HTTP(S) on one keep-alive standard-library connection per thread.

web3's ``HTTPProvider`` goes through ``requests``: a prepared request, a cookie jar and adapter lookups on every
call, about a sixth of the gateway's CPU per repo opened (some twenty node calls each). The gateway talks to one
node URL from a handful of threads, so a plain ``http.client`` connection per thread does the same work for a
fraction of it. The wire format is web3's own (its request encoder), so every web3 method works unchanged.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from typing import Any, cast
from urllib.parse import urlsplit

from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from gateway.chain import guard
from gateway.chain.outage import reachability

# The server may close an idle kept-alive connection at any time; a request that meets such a close before any
# answer arrived was not processed and is sent once more on a fresh connection.
STALE = (http.client.RemoteDisconnected, http.client.BadStatusLine, BrokenPipeError, ConnectionResetError)


class NodeUnreachable(ConnectionError):
    """The node did not answer (transport failure, timeout, or an HTTP status other than 200): an outage, never
    the node's decision (gateway.chain.outage)."""


HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "reponet-gateway"}


class KeepAliveHTTPProvider(JSONBaseProvider):
    """A web3 provider for ``http://`` and ``https://`` node URLs (TLS verified against the system's CAs)."""

    def __init__(self, url: str, *, timeout: float = 15.0, token: str | None = None) -> None:
        """``token``: the node's JSON-RPC bearer token (REPONET_CHAIN_RPC_TOKEN), sent with every request."""
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
        self._local = threading.local()
        self._headers = {**HEADERS, "Authorization": f"Bearer {token}"} if token else HEADERS

    def __str__(self) -> str:
        return f"RPC connection {self.endpoint_uri}"

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._https:
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=self._ssl
                )
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

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
            connection = self._connection()
            reused = connection.sock is not None
            try:
                connection.request("POST", self._path, body=body, headers=self._headers)
                response = connection.getresponse()
                data = response.read()
            except STALE as exc:
                self._drop()
                if reused and attempt == 1:
                    continue
                raise NodeUnreachable(f"JSON-RPC {self.endpoint_uri}: {exc!r}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise NodeUnreachable(f"JSON-RPC {self.endpoint_uri}: {exc!r}") from exc
            if response.will_close:
                self._drop()
            if response.status != 200:
                raise NodeUnreachable(f"JSON-RPC {self.endpoint_uri}: HTTP {response.status}: {data[:200]!r}")
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        return cast(RPCResponse, json.loads(self.post(self.encode_rpc_request(method, params))))

    def make_batch_request(self, requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        answer = json.loads(self.post(self.encode_batch_rpc_request(requests)))
        if not isinstance(answer, list):
            return cast(RPCResponse, answer)  # an error about the batch as a whole
        return cast(list[RPCResponse], sorted(answer, key=lambda item: item.get("id", 0)))
