"""One way to open a JSON-RPC connection to the chain, for every part of the gateway."""

from __future__ import annotations

from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware

from gateway.chain.transport import KeepAliveHTTPProvider


def connect(url: str, timeout: float = 15.0, token: str | None = None) -> Web3:
    """A web3 client for ``url``. QBFT and Besu headers carry long extra data (the POA middleware accepts it).
    web3's validation middleware is removed: it asks the node for its chain id before every call and estimate
    (one extra round trip each), to check a chain id the gateway sets itself when it signs. The transport is a
    bounded pool of keep-alive connections (gateway.chain.transport), not ``requests``. ``token``: the node's JSON-RPC
    bearer token, where the node requires one."""
    w3 = Web3(KeepAliveHTTPProvider(url, timeout=timeout, token=token))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    w3.middleware_onion.remove("validation")
    return w3
