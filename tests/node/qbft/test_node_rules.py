"""Node permissioning without processes: the allowlist file (Besu's format) and an on-chain node-rules contract
asked through Besu's connectionAllowed(string,string,uint16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_keys.datatypes import PrivateKey

from node.chain import initialize_chain
from node.exceptions import ConfigError
from node.execution import open_state
from node.genesis import Genesis, GenesisAccount
from node.p2p.enode import Enode
from node.p2p.permissions import CONNECTION_ALLOWED, NodePermissioner, read_node_allowlist, write_permissions_file
from node.storage import ChainStore

# returns (selector of the call == connectionAllowed(string,string,uint16)) as a bool word
SELECTOR_CHECKER = bytes.fromhex("60003560e01c63") + CONNECTION_ALLOWED + bytes.fromhex("1460005260206000f3")
DENY_ALL = bytes.fromhex("600060005260206000f3")
CHECKER, DENIER, EMPTY = b"\x0a" * 20, b"\x0b" * 20, b"\x0c" * 20


def enode(i: int) -> Enode:
    key = PrivateKey(bytes([i + 1]) * 32)
    return Enode(bytes(key.public_key.to_bytes()), "127.0.0.1", 30303 + i)


def test_allowlist_file_round_trips_in_besu_format(tmp_path: Path) -> None:
    path = tmp_path / "permissions_config.toml"
    write_permissions_file(path, [enode(0), enode(1)], [b"\x01" * 20])
    text = path.read_text()
    assert "nodes-allowlist=[" in text and "accounts-allowlist=[" in text
    assert read_node_allowlist(path) == [enode(0), enode(1)]
    allowed = NodePermissioner(read_node_allowlist(path))
    assert allowed.is_allowed(enode(0).pubkey, "10.0.0.9", 1)
    assert not allowed.is_allowed(enode(2).pubkey, "127.0.0.1", 30305)
    path.write_text('nodes-allowlist=["enode://nothex@127.0.0.1:1"]\n')
    with pytest.raises(ConfigError):
        read_node_allowlist(path)


def test_node_rules_contract_is_asked_with_connection_allowed(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "chain.sqlite")
    genesis = Genesis(
        chain_id=7,
        gas_limit=30_000_000,
        timestamp=0,
        extra_data=b"",
        account_rules=None,
        block_period=None,
        alloc={CHECKER: GenesisAccount(code=SELECTOR_CHECKER), DENIER: GenesisAccount(code=DENY_ALL)},
    )
    try:
        header = initialize_chain(store, genesis, (b"\x01" * 20,))

        def state():  # type: ignore[no-untyped-def]
            return open_state(store.state_db(), header, header.state_root, [], 7)

        stranger = enode(5)
        assert NodePermissioner([], CHECKER, state).is_allowed(stranger.pubkey, stranger.host, stranger.port)
        assert not NodePermissioner([], DENIER, state).is_allowed(stranger.pubkey, stranger.host, stranger.port)
        assert not NodePermissioner([], EMPTY, state).is_allowed(stranger.pubkey, stranger.host, stranger.port)
        # the file still admits its nodes when the contract refuses (it bootstraps the network)
        assert NodePermissioner([stranger], DENIER, state).is_allowed(stranger.pubkey, "h", 1)
    finally:
        store.close()
