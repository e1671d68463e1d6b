"""What an operator names on the command line, resolved against the network: a token by symbol, ISIN or address,
and an address, checksummed."""

from __future__ import annotations

from web3 import Web3

from gateway.datadir import TokenInfo
from gateway.ops.exceptions import UsageError
from gateway.ops.network import Network


def token_named(net: Network, symbol: str | None, kind: str) -> TokenInfo:
    """The network's cash token or bond (``kind``) with this symbol, ISIN or address; the first one if none named."""
    tokens = net.state.cash_tokens if kind == "cash" else net.state.bonds
    if symbol is None:
        return tokens[0]
    for t in tokens:
        if symbol.lower() in (t.symbol.lower(), t.address.lower(), t.isin.lower()):
            return t
    raise UsageError(f"no {kind} token {symbol!r}; known: {', '.join(t.symbol for t in tokens)}")


def address_of(value: str) -> str:
    if not Web3.is_address(value):
        raise UsageError(f"not an address: {value}")
    return str(Web3.to_checksum_address(value))
