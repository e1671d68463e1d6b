"""JSON-RPC 2.0 over HTTP (POST /) and WebSocket (GET / with Upgrade) on one aiohttp port.

Who may call what is :mod:`node.rpc.auth` (JWT bearer tokens with Besu's method permissions); how much a call may
cost is :mod:`node.rpc.budget`; what a body may contain is :mod:`node.rpc.decoding`. The node writes its own
operator token to ``admin.token`` in the data directory (mode 0600, rewritten at every start) when it holds the
signing key: reading it needs the operator's OS account.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import ssl
import time
from typing import Any

from aiohttp import WSMsgType, web

from node.exceptions import (
    InvalidParams,
    InvalidRequest,
    LimitExceeded,
    RpcError,
    ServerError,
    to_rpc_error,
)
from node.rpc import decoding
from node.rpc.auth import ANONYMOUS, LEEWAY_SECONDS, Grant, RpcAuth, Unauthorized, bearer
from node.rpc.budget import RequestBudget
from node.rpc.connections import ConnectionTracker
from node.rpc.context import RequestContext
from node.rpc.filters import log_matches, new_id
from node.rpc.limits import ClientCounter, ResponseTooLarge, current_client
from node.rpc.methods import Methods
from node.rpc.params import log_filter
from node.rpc.types import LogObject, RpcResponse
from node.service import NodeService

logger = logging.getLogger(__name__)


def _error(req_id: Any, exc: BaseException) -> RpcResponse:
    return {"jsonrpc": "2.0", "id": req_id, "error": to_rpc_error(exc)}  # type: ignore[typeddict-item]


def _encode(message: Any) -> str:
    return json.dumps(message, separators=(",", ":"))


def _is_send(item: Any) -> bool:
    return isinstance(item, dict) and item.get("method") == "eth_sendRawTransaction"


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class RpcServer:
    def __init__(self, node: NodeService, auth: RpcAuth, allowed_origins: tuple[str, ...] = ()) -> None:
        self.node = node
        self.methods = Methods(node)
        self.auth = auth
        self._allowed_origins = allowed_origins
        self.app = web.Application(client_max_size=node.limits.max_body_bytes)
        self.app.router.add_post("/", self._http)
        self.app.router.add_get("/", self._get)
        self.app.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        server_limits = node.limits.server
        self.connections = ConnectionTracker(server_limits.connections_per_address, server_limits.idle_seconds)
        self.subscriptions = ClientCounter(server_limits.subscriptions_per_client, "subscriptions")
        self.ws_slow_closed = 0  # WebSocket connections closed for not reading (for /metrics)

    async def start(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> int:
        """Listen; returns the bound port (``port`` 0 asks the OS for a free one, so callers never race for it)."""
        idle = self.node.limits.server.idle_seconds
        self._runner = web.AppRunner(self.app, access_log=None, keepalive_timeout=idle)
        await self._runner.setup()
        # our own listener instead of aiohttp's TCPSite: every connection goes through the per-address cap and
        # idle timeout (node.rpc.connections). SO_REUSEADDR: a restarted node can rebind at once.
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.connections.factory(self._runner.server),  # type: ignore[arg-type]
            host,
            port,
            reuse_address=True,
            ssl=ssl_context,
        )
        sockets = self._server.sockets or ()
        return int(sockets[0].getsockname()[1]) if sockets else port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def grant(self, request: web.Request) -> Grant:
        """The request's token, verified; raise :class:`Unauthorized` for a bad one, or for none where required."""
        token = bearer(request.headers.get("Authorization"))
        if token is None and request.method == "GET":
            token = request.query.get("token") or None  # browsers cannot set headers on a WebSocket upgrade
        if token is None:
            if self.auth.required:
                raise Unauthorized("Unauthorized: a bearer token is required")
            return ANONYMOUS
        return self.auth.verify(token)

    def context(self, request: web.Request, grant: Grant) -> RequestContext:
        """One per HTTP body or WebSocket message: a batch shares one budget."""
        return RequestContext(
            client=grant.subject or request.remote or "unknown",
            budget=RequestBudget(self.node.limits.calls),
            grant=grant,
        )

    def check_permitted(self, grant: Grant, method: str) -> None:
        operator_only = self.methods.is_operator_method(method)
        if not self.auth.allows(grant, method) or (operator_only and not grant.permits(method)):
            if grant.expired():
                raise Unauthorized("Unauthorized: the token has expired")
            without = "" if grant.subject else " without a token"
            raise Unauthorized(f"Unauthorized: {method} is not permitted{without}")

    async def handle_payload(self, payload: Any, ctx: RequestContext, ws: WsSession | None = None) -> str | None:
        """The encoded answer to one body or message. A batch yields to the event loop between its items (except
        between transactions sent, whose cost the pool's admission bounds) and
        stops growing at ``max_response_bytes``: the items past it are answered with a -32005 error instead."""
        limit = self.node.limits.server.max_response_bytes
        if not isinstance(payload, list):
            response = await self.handle_one(payload, ctx, ws)
            if response is None:
                return None
            text = _encode(response)
            return _encode(_error(response.get("id"), ResponseTooLarge(limit))) if len(text) > limit else text
        if not payload:
            return _encode(_error(None, InvalidRequest("empty batch")))
        if len(payload) > self.node.limits.max_batch:
            return _encode(_error(None, LimitExceeded(f"batch too large: at most {self.node.limits.max_batch}")))
        parts: list[str] = []
        size = 2
        for item in payload:
            if size > limit:
                response = self._refused(item, ResponseTooLarge(limit))
            else:
                if not _is_send(item):  # sends stay together, so a batch of them lands in one block
                    await asyncio.sleep(0)  # other clients and the block producer run between items
                response = await self.handle_one(item, ctx, ws)
            if response is None:
                continue
            text = _encode(response)
            if size + len(text) + 1 > limit:
                text = _encode(self._refused(item, ResponseTooLarge(limit)))
                size = limit + 1  # nothing more fits: the rest is refused without running
            else:
                size += len(text) + 1
            parts.append(text)
        return "[" + ",".join(parts) + "]" if parts else None

    @staticmethod
    def _refused(item: Any, exc: RpcError) -> RpcResponse:
        req_id = item.get("id") if isinstance(item, dict) else None
        return _error(None if isinstance(req_id, dict | list) else req_id, exc)

    async def handle_one(self, request: Any, ctx: RequestContext, ws: WsSession | None) -> RpcResponse | None:
        if not isinstance(request, dict):
            return _error(None, InvalidRequest("invalid request"))
        req_id = request.get("id")
        is_notification = "id" not in request
        if isinstance(req_id, dict | list):
            return _error(None, InvalidRequest("invalid request"))
        method = request.get("method")
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return _error(req_id, InvalidRequest("invalid request"))
        params = request.get("params", [])
        logger.debug("rpc %s%s", method, " (ws)" if ws is not None else "")
        if params is None:
            params = []
        try:
            if not isinstance(params, list):
                raise InvalidParams("non-array args")
            self.check_permitted(ctx.grant, method)
            current_client.set(ctx.client)
            if ws is not None and method in ("eth_subscribe", "eth_unsubscribe"):
                result = ws.subscribe(params) if method == "eth_subscribe" else ws.unsubscribe(params)
            else:
                result = await self.methods.dispatch(method, params, ctx)
        except RpcError as exc:
            return None if is_notification else _error(req_id, exc)
        except Exception as exc:  # bad input must never take the node down
            logger.exception("internal error in %s", method)
            return None if is_notification else _error(req_id, exc)
        if is_notification:
            return None
        return {"jsonrpc": "2.0", "id": req_id, "result": result}

    # HTTP -----------------------------------------------------------------------------------------
    async def _http(self, request: web.Request) -> web.StreamResponse:
        # the token first: an unauthenticated client must not make the node read and parse a large body
        try:
            grant = self.grant(request)
        except Unauthorized as exc:
            return web.json_response(_error(None, exc), status=401, headers={"Connection": "close"})
        limit = self.node.limits.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return web.Response(status=413, text=f"content length too large ({request.content_length}>{limit})")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text=f"content length too large (>{limit})")
        try:
            payload = decoding.decode(body)
        except RpcError as exc:
            return web.json_response(_error(None, exc))
        text = await self.handle_payload(payload, self.context(request, grant))
        if text is None:
            return web.Response(status=200, content_type="application/json", text="")
        return web.Response(text=text, content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        """Operators only: with authentication on, an operator token (or one permitting ``metrics``); with it
        off (dev), loopback clients only."""
        if self.auth.required:
            try:
                grant = self.grant(request)
            except Unauthorized as exc:
                return web.json_response(_error(None, exc), status=401)
            if not grant.permits("metrics_read"):
                return web.Response(status=403, text="metrics need an operator token")
        elif not _is_loopback(request.remote):
            return web.Response(status=403, text="metrics are served to loopback clients only")
        chain = self.node.chain
        lines = [
            "# TYPE reponet_head_block gauge",
            f"reponet_head_block {chain.head.block_number}",
            "# TYPE reponet_txpool_transactions gauge",
            f"reponet_txpool_transactions {len(self.node.pool)}",
            "# TYPE reponet_txpool_evicted_total counter",
            f"reponet_txpool_evicted_total {self.node.pool.evicted}",
            "# TYPE reponet_rpc_calls_in_flight gauge",
            f"reponet_rpc_calls_in_flight {self.methods.calls.in_flight}",
            "# TYPE reponet_rpc_calls_refused_total counter",
            f"reponet_rpc_calls_refused_total {self.methods.calls.refused}",
            "# TYPE reponet_rpc_connections_refused_total counter",
            f"reponet_rpc_connections_refused_total {self.connections.refused}",
            "# TYPE reponet_rpc_connections_idle_closed_total counter",
            f"reponet_rpc_connections_idle_closed_total {self.connections.idle_closed}",
            "# TYPE reponet_ws_slow_disconnects_total counter",
            f"reponet_ws_slow_disconnects_total {self.ws_slow_closed}",
            "# TYPE reponet_rpc_calls_total counter",
            *(
                f"reponet_rpc_calls_total{{client={json.dumps(c)},method={json.dumps(m)}}} {n}"
                for (c, m), n in sorted(self.methods.served.items())
            ),
        ]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    async def _get(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=200, text="")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self._allowed_origins:
            return web.Response(status=403, text="origin not allowed")
        try:
            grant = self.grant(request)
        except Unauthorized as exc:
            return web.json_response(_error(None, exc), status=401)
        ws = web.WebSocketResponse(max_msg_size=self.node.limits.max_body_bytes, heartbeat=30)
        await ws.prepare(request)
        session = WsSession(self, ws, grant.subject or request.remote or "unknown")
        # the session ends when its token does, even if the client only listens to subscriptions
        expiry = None
        if grant.expires_at is not None:
            left = max(0.0, grant.expires_at - time.time() + LEEWAY_SECONDS)
            expiry = asyncio.get_running_loop().call_later(left, session.close)
        idle = self.node.limits.server.idle_seconds
        spoke = False
        try:
            while not ws.closed:
                try:  # until its first message, a connection may stay silent only so long
                    msg = await ws.receive(timeout=None if spoke else idle)
                except TimeoutError:
                    self.connections.idle_closed += 1
                    break
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                # web3.py sends its requests as binary frames; geth reads both kinds as JSON text
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                spoke = True
                if grant.expired():
                    await ws.send_str(_encode(_error(None, Unauthorized("Unauthorized: the token has expired"))))
                    break
                try:
                    payload = decoding.decode(msg.data)
                except RpcError as exc:
                    session.send(_encode(_error(None, exc)))
                    continue
                result = await self.handle_payload(payload, self.context(request, grant), session)
                if result is not None:
                    session.send(result)
        finally:
            if expiry is not None:
                expiry.cancel()
            session.close()
        return ws


class WsSession:
    """One WebSocket connection and its subscriptions; answers and notifications go through one ordered queue,
    bounded in messages and bytes: a client that does not read is disconnected, not buffered for."""

    def __init__(self, server: RpcServer, ws: web.WebSocketResponse, client: str) -> None:
        self.server = server
        self.node = server.node
        self.ws = ws
        self.client = client
        self.subscriptions: dict[str, Any] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued_bytes = 0
        self._writer = asyncio.create_task(self._drain())
        self._closer: asyncio.Future[Any] | None = None
        self.closed = False

    def send(self, text: str) -> None:
        if self.closed:
            return
        limits = self.node.limits.server
        if self._queue.qsize() >= limits.ws_queue_messages or self._queued_bytes + len(text) > limits.ws_queue_bytes:
            logger.warning("websocket client %s does not read its messages: disconnected", self.client)
            self.server.ws_slow_closed += 1
            self.close()
            return
        self._queued_bytes += len(text)
        self._queue.put_nowait(text)

    def _notify(self, sid: str, result: Any) -> None:
        if self.closed:
            return
        self.send(
            _encode({"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": sid, "result": result}})
        )

    async def _drain(self) -> None:
        try:
            while True:
                text = await self._queue.get()
                self._queued_bytes -= len(text)
                if self.ws.closed:
                    return
                await self.ws.send_str(text)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            return

    def subscribe(self, params: list[Any]) -> str:
        if not params or not isinstance(params[0], str):
            raise InvalidParams("invalid argument 0: subscription kind expected")
        if len(self.subscriptions) >= self.node.limits.max_ws_subscriptions:
            raise LimitExceeded("too many subscriptions on this connection")
        kind = params[0]
        if kind not in ("newHeads", "logs", "newPendingTransactions"):
            if kind == "syncing":
                raise ServerError("syncing subscriptions are not supported")
            raise InvalidParams(f'no "{kind}" subscription in eth namespace')
        criteria = (
            log_filter(params[1] if len(params) > 1 and params[1] is not None else {}) if kind == "logs" else None
        )
        self.server.subscriptions.acquire(self.client)
        sid = new_id()
        if kind == "newHeads":

            def on_block(header: dict[str, Any], logs: list[LogObject]) -> None:
                self._notify(sid, header)

            self.node.block_listeners.add(on_block)
            self.subscriptions[sid] = ("block", on_block)
        elif kind == "logs":
            assert criteria is not None

            def on_logs(header: dict[str, Any], logs: list[LogObject]) -> None:
                for log in logs:
                    if log_matches(
                        criteria,
                        bytes.fromhex(log["address"][2:]),
                        [bytes.fromhex(t[2:]) for t in log["topics"]],
                    ):
                        self._notify(sid, log)

            self.node.block_listeners.add(on_logs)
            self.subscriptions[sid] = ("block", on_logs)
        elif kind == "newPendingTransactions":
            full = bool(params[1]) if len(params) > 1 else False
            from node.rpc.formatting import d, format_tx

            def on_tx(tx: Any) -> None:
                self._notify(sid, format_tx(tx, None, None) if full else d(tx.hash))

            self.node.tx_listeners.add(on_tx)
            self.subscriptions[sid] = ("tx", on_tx)
        return sid

    def unsubscribe(self, params: list[Any]) -> bool:
        if not params or not isinstance(params[0], str):
            raise InvalidParams("invalid argument 0: subscription id expected")
        entry = self.subscriptions.pop(params[0].lower(), None)
        if entry is None:
            return False
        self._detach(entry)
        return True

    def _detach(self, entry: Any) -> None:
        self.server.subscriptions.release(self.client)
        kind, listener = entry
        if kind == "block":
            self.node.block_listeners.discard(listener)
        else:
            self.node.tx_listeners.discard(listener)

    def close(self) -> None:
        """Idempotent: a connection's subscriptions are detached once, however often it is closed."""
        if self.closed:
            return
        self.closed = True
        for entry in self.subscriptions.values():
            self._detach(entry)
        self.subscriptions.clear()
        self._writer.cancel()
        if not self.ws.closed:
            self._closer = asyncio.ensure_future(self.ws.close())
