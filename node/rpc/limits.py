"""What one client may hold of the server's memory and attention: response sizes, WebSocket send queues,
filters and subscriptions, connections.

Why: a batch of 1,000 cheap reads built a 200 MB response on the event loop; a WebSocket client that subscribed
and never read had its notifications buffered without end; one client could install every filter slot; and
idle connections cost a socket and a task each for as long as the client liked.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from node.exceptions import LimitExceeded


@dataclass(frozen=True)
class ServerLimits:
    max_response_bytes: int = 32 * 1024 * 1024  # one HTTP body or WebSocket message, a batch included
    ws_queue_messages: int = 1024  # messages waiting to be sent on one WebSocket
    ws_queue_bytes: int = 16 * 1024 * 1024  # their size
    filters_per_client: int = 64  # eth_newFilter & co. installed at once, per token subject or address
    subscriptions_per_client: int = 128  # eth_subscribe over all the client's connections
    connections_per_address: int = 64  # concurrent HTTP and WebSocket connections from one address
    idle_seconds: float = 60.0  # a connection that sends nothing (HTTP keep-alive, WebSocket without requests)


class ResponseTooLarge(LimitExceeded):
    def __init__(self, limit: int) -> None:
        super().__init__(f"response size exceeded: at most {limit} bytes per request")


# The client a request runs for, for the per-client caps of code that is not handed the request context (filters).
current_client: contextvars.ContextVar[str] = contextvars.ContextVar("current_client", default="local")


class ClientCounter:
    """How many of something each client holds, against one cap."""

    def __init__(self, cap: int, what: str) -> None:
        self.cap = cap
        self.what = what
        self._held: dict[str, int] = {}

    def acquire(self, client: str) -> None:
        held = self._held.get(client, 0)
        if held >= self.cap:
            raise LimitExceeded(f"too many {self.what} for this client (at most {self.cap})")
        self._held[client] = held + 1

    def release(self, client: str) -> None:
        left = self._held.get(client, 0) - 1
        if left > 0:
            self._held[client] = left
        else:
            self._held.pop(client, None)

    def held(self, client: str) -> int:
        return self._held.get(client, 0)
