"""Node identities: a secp256k1 node key, its enode URL (``enode://<pubkey hex>@host:port``, as Besu writes it)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from eth_keys.datatypes import PublicKey

from node.exceptions import ConfigError


@dataclass(frozen=True)
class Enode:
    pubkey: bytes  # 64 bytes, uncompressed without the 0x04 prefix
    host: str
    port: int

    @property
    def address(self) -> bytes:
        return bytes(PublicKey(self.pubkey).to_canonical_address())

    def __str__(self) -> str:
        return f"enode://{self.pubkey.hex()}@{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Enode:
        url = urlparse(text.strip())
        if url.scheme != "enode" or not url.username or not url.hostname or not url.port:
            raise ConfigError(f"not an enode URL (enode://<128 hex>@host:port): {text!r}")
        try:
            pubkey = bytes.fromhex(url.username)
        except ValueError:
            raise ConfigError(f"enode id is not hex: {text!r}") from None
        if len(pubkey) != 64:
            raise ConfigError(f"enode id must be 64 bytes: {text!r}")
        return cls(pubkey, url.hostname, url.port)
