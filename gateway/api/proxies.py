"""The client's address behind proxies: ``X-Forwarded-For`` is believed only from configured proxies.

Rate limits, API-key IP allowlists, sign-in backoff and the access log all key on the client's address. A header
any caller can write is evidence only when the connection comes from a proxy the operator configured
(``REPONET_TRUSTED_PROXIES``, addresses or CIDR networks); then the address is read from the right of the header,
skipping the configured proxies, and the first other hop is the client. Uvicorn's own header handling, which
trusts any loopback peer by default, is switched off (``gateway.cli``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(entry.strip(), strict=False) for entry in entries]


class ForwardedFor:
    """Rewrites the ASGI ``client`` of requests that came through a trusted proxy."""

    def __init__(self, app: ASGIApp, trusted: Sequence[str]) -> None:
        self.app = app
        self.networks = parse_networks(trusted)

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client_of(self, peer: str, forwarded: list[str]) -> str:
        """Walk the hops from the nearest: trusted proxies are skipped, the first other one is the client. A hop
        that is not an address ends the walk at the last trusted one."""
        client = peer
        for hop in reversed(forwarded):
            try:
                address = str(ipaddress.ip_address(hop))
            except ValueError:
                break
            client = address
            if not self._trusted(address):
                break
        return client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks and scope.get("client"):
            peer, port = scope["client"]
            if self._trusted(peer):
                hops = [
                    part.strip()
                    for name, value in scope["headers"]
                    if name == b"x-forwarded-for"
                    for part in value.decode("latin-1").split(",")
                    if part.strip()
                ]
                if hops:
                    scope = {**scope, "client": (self.client_of(peer, hops), port)}
        await self.app(scope, receive, send)
