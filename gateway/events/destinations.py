"""Where webhooks may go: public https endpoints only, checked at the moment of connecting.

A member chooses the URL, so a webhook is a request the gateway makes on the member's behalf from inside the
operator's network. The URL must be https (plain http only to loopback, in development, when
``REPONET_WEBHOOK_ALLOW_LOOPBACK`` is set). The check that matters runs when the connection is made: the host name
is resolved once, every address it resolves to must be public (not private, loopback, link-local, shared,
multicast, reserved or documentation space, nor an IPv6 form that embeds such an IPv4 address), and the
connection goes to the address that was checked, so a name that resolves differently a moment later (DNS
rebinding) changes nothing. TLS still verifies the certificate against the host name. No proxy from the
environment is used, and redirects are not followed.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from gateway.exceptions import InvalidRequest

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]  # socket.getaddrinfo's shape
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


class DestinationRefused(httpcore.ConnectError):
    """The host resolved to an address webhooks may not reach (raised at connect time)."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.teredo is not None:
        return address.teredo[1]
    return None


def is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return inner.is_loopback
    return address.is_loopback


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, with any IPv4 address embedded in an IPv6 one public too."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            return is_public(inner)
    return True


def allowed(address: IPAddress, *, allow_loopback: bool) -> bool:
    return is_public(address) or (allow_loopback and is_loopback(address))


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_url(url: str, *, allow_loopback: bool) -> str:
    """Refuse a webhook URL that could only lead inward; return it unchanged otherwise. Host names are checked
    again, resolved, when each delivery connects."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidRequest("the webhook URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidRequest("the webhook URL must not carry credentials")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InvalidRequest("the webhook URL has an invalid port") from None
    literal = _literal(host)
    loopback = host in LOOPBACK_NAMES or host.endswith(".localhost") or (literal is not None and is_loopback(literal))
    if parts.scheme == "http":
        if not (allow_loopback and loopback):
            raise InvalidRequest("webhooks must use https (plain http only to loopback, in development)")
    elif parts.scheme != "https":
        raise InvalidRequest("webhooks must use https")
    if loopback and not allow_loopback:
        raise InvalidRequest("webhooks may not target loopback addresses")
    if literal is not None and not allowed(literal, allow_loopback=allow_loopback):
        raise InvalidRequest("webhooks may not target private, link-local or other non-public addresses")
    return url


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves each host once, refuses it unless every address is allowed, and connects to those addresses."""

    def __init__(
        self,
        *,
        allow_loopback: bool,
        resolve: Resolver = socket.getaddrinfo,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.resolve = resolve
        self.inner = inner or httpcore.SyncBackend()

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = _literal(host)
        if literal is not None:
            found = [literal]
        else:
            try:
                infos = self.resolve(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
            found = []
            for info in infos:
                address = _literal(str(info[4][0]))
                if address is not None and address not in found:
                    found.append(address)
        if not found:
            raise httpcore.ConnectError(f"{host} has no address")
        refused = [a for a in found if not allowed(a, allow_loopback=self.allow_loopback)]
        if refused:
            raise DestinationRefused(f"{host} resolves to {', '.join(map(str, refused))}, which webhooks may not reach")
        return found

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in self.addresses(host, port):
            try:
                return self.inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise DestinationRefused("webhooks do not use unix sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a ``GuardedBackend``: no proxy from the environment, TLS verified by host name."""

    def __init__(self, backend: GuardedBackend, *, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._pool = httpcore.ConnectionPool(ssl_context=context, network_backend=backend, max_connections=20)


def guarded_client(
    *,
    allow_loopback: bool,
    timeout: float = 5.0,
    resolve: Resolver = socket.getaddrinfo,
    inner: httpcore.NetworkBackend | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.Client:
    backend = GuardedBackend(allow_loopback=allow_loopback, resolve=resolve, inner=inner)
    return httpx.Client(
        transport=GuardedTransport(backend, verify=verify),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def refused(exc: BaseException) -> bool:
    """Whether an httpx error came from ``DestinationRefused``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DestinationRefused):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
