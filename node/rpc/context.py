"""Who sent a request and what it may still spend: made once per HTTP body or WebSocket message."""

from __future__ import annotations

from dataclasses import dataclass

from node.rpc.auth import ANONYMOUS, Grant
from node.rpc.budget import RequestBudget


@dataclass
class RequestContext:
    client: str  # the token's subject when the request carried one, else the remote address
    budget: RequestBudget
    grant: Grant = ANONYMOUS
