"""Node permissioning: which nodes may peer with this one.

Two sources, as Besu has them: the local allowlist file ``permissions_config.toml`` (``nodes-allowlist`` of
enode URLs, Besu's format) and an on-chain node-rules contract asked through Besu's
``connectionAllowed(string enodeId, string enodeHost, uint16 enodePort)``. A node is allowed when the file
lists its node id or the contract allows it (the file bootstraps the network before the contract exists).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import cast

from eth.vm.forks.prague.state import PragueState
from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_typing import Address

from node.exceptions import ConfigError
from node.execution import CallParams, run_call
from node.p2p.enode import Enode

logger = logging.getLogger(__name__)

PERMISSIONS_FILE = "permissions_config.toml"
CONNECTION_ALLOWED = keccak(b"connectionAllowed(string,string,uint16)")[:4]
ZERO_ADDRESS = b"\x00" * 20


def read_node_allowlist(path: Path) -> list[Enode]:
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not TOML: {exc}") from exc
    entries = data.get("nodes-allowlist", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: nodes-allowlist must be a list of enode URLs")
    return [Enode.parse(str(e)) for e in entries]


def write_permissions_file(path: Path, nodes: list[Enode], accounts: list[bytes]) -> None:
    """Besu's ``permissions_config.toml`` (the same file works for ``--permissions-nodes-config-file``)."""
    lines = ["# Besu local permissioning (also read by reponet-node)"]
    lines.append("accounts-allowlist=[" + ", ".join(f'"0x{a.hex()}"' for a in accounts) + "]")
    lines.append("nodes-allowlist=[" + ", ".join(f'"{n}"' for n in nodes) + "]")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


class NodePermissioner:
    def __init__(
        self, allowlist: list[Enode], rules_address: bytes | None = None, state: Callable[[], PragueState] | None = None
    ) -> None:
        self.allowed_ids = {e.pubkey for e in allowlist}
        self.rules_address = rules_address
        self._state = state

    def is_allowed(self, pubkey: bytes, host: str, port: int) -> bool:
        if pubkey in self.allowed_ids:
            return True
        if self.rules_address is None or self._state is None:
            return False
        return self.contract_allows(pubkey, host, port)

    def contract_allows(self, pubkey: bytes, host: str, port: int) -> bool:
        assert self._state is not None and self.rules_address is not None
        data = CONNECTION_ALLOWED + abi_encode(["string", "string", "uint16"], [pubkey.hex(), host, port])
        try:
            computation = run_call(
                self._state(),
                CallParams(
                    sender=ZERO_ADDRESS, to=cast(Address, self.rules_address), gas=1_000_000, value=0, data=data
                ),
            )
        except Exception:  # a missing or broken contract allows nobody
            logger.exception("node rules contract call failed")
            return False
        output = bytes(computation.output)
        return not computation.is_error and len(output) >= 32 and int.from_bytes(output[:32], "big") == 1
