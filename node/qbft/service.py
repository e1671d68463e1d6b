"""A node of a multi-validator network: the NodeService with the QBFT engine and peers instead of the
single-validator block producer."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth.abc import SignedTransactionAPI
from eth_keys.datatypes import PrivateKey

from node.datadir import DataDir
from node.exceptions import ConfigError
from node.keystore import load_keystore
from node.p2p.enode import Enode
from node.p2p.peers import Faults, PeerManager
from node.p2p.permissions import PERMISSIONS_FILE, NodePermissioner, read_node_allowlist
from node.permissioning import AccountPermissioner, read_allowlist
from node.qbft.chain import QbftChain
from node.qbft.consensus import QbftConsensus
from node.qbft.engine import EngineConfig, QbftEngine, TestFaults
from node.qbft.votes import DEFAULT_EPOCH_LENGTH, VoteTally
from node.service import NodeService, RpcLimits
from node.storage import ChainStore
from node.txpool import PoolLimits

logger = logging.getLogger(__name__)

NETWORK_FILE = "network.json"


@dataclass
class NetworkConfig:
    """``network.json`` in a node's data directory: what makes it a node of a QBFT network."""

    p2p_host: str = "127.0.0.1"
    p2p_port: int = 30303
    static_peers: list[str] = field(default_factory=list)
    epoch_length: int = DEFAULT_EPOCH_LENGTH
    request_timeout: float = 2.0
    node_rules: str | None = None

    @classmethod
    def load(cls, path: Path) -> NetworkConfig:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=2) + "\n")


def is_network_node(data_dir: Path) -> bool:
    return (data_dir / NETWORK_FILE).exists()


class QbftNodeService(NodeService):
    engine: QbftEngine
    peer_manager: PeerManager
    permissions_file: Path

    def start(self) -> None:
        self.start_housekeeping()
        self.engine.start()

    async def start_network(self) -> None:
        await self.peer_manager.start()
        self.start()

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        await self.engine.stop()
        await self.peer_manager.stop()

    def submit(self, tx: SignedTransactionAPI) -> bytes:
        tx_hash = super().submit(tx)
        self.engine.on_local_tx(tx)
        return tx_hash


def open_network_node(
    data_dir: DataDir,
    password: str,
    *,
    block_time: float,
    empty_blocks: bool,
    trailing_block: bool,
    limits: RpcLimits,
    pool_limits: PoolLimits,
    extra_peers: list[str],
    p2p_port: int | None,
    test_faults: bool,
    node_rules: bytes | None = None,
) -> QbftNodeService:
    if not data_dir.chain_db.exists():
        raise ConfigError(f"{data_dir.path} is not initialized: run `reponet-node init` first")
    config = NetworkConfig.load(data_dir.path / NETWORK_FILE)
    key: PrivateKey = load_keystore(data_dir.keystore, password)
    store = ChainStore(data_dir.chain_db)
    rules = store.get_meta("account_rules")
    permissioner = AccountPermissioner(read_allowlist(data_dir.allowlist), rules or None)
    tally = VoteTally(store.header_by_number, config.epoch_length)
    consensus = QbftConsensus(key, tally)
    chain = QbftChain(store, consensus, permissioner)
    chain.round_timeout = config.request_timeout
    service = QbftNodeService(
        chain, permissioner, data_dir.path, block_time, empty_blocks, limits, pool_limits, trailing_block
    )
    engine_config = EngineConfig(
        block_period=block_time,
        round_timeout=config.request_timeout,
        empty_blocks=empty_blocks,
        trailing_block=trailing_block,
    )
    faults = TestFaults() if test_faults else None
    service.engine = QbftEngine(chain, consensus, service, engine_config, faults)
    if node_rules is None and config.node_rules:
        node_rules = bytes.fromhex(config.node_rules[2:])
    node_permissioner = NodePermissioner(
        read_node_allowlist(data_dir.path / PERMISSIONS_FILE), node_rules, lambda: chain.state_at(chain.head)
    )
    peers = [Enode.parse(p) for p in [*config.static_peers, *extra_peers]]
    service.peer_manager = PeerManager(
        key,
        bytes(chain.genesis_hash),
        config.p2p_host,
        p2p_port or config.p2p_port,
        peers,
        node_permissioner,
        service.engine.handle,
        service.engine.on_peer_connected,
        Faults() if test_faults else None,
    )
    service.engine.peers = service.peer_manager
    service.permissions_file = data_dir.path / PERMISSIONS_FILE
    role = "validator" if consensus.is_validator_after(chain.head) else "RPC node (follows, verifies)"
    logger.info(
        "QBFT node 0x%s (%s), head %d, p2p %s",
        key.public_key.to_canonical_address().hex(),
        role,
        chain.head.block_number,
        service.peer_manager.enode,
    )
    return service


def node_info(service: QbftNodeService) -> dict[str, Any]:
    return {"enode": str(service.peer_manager.enode), "validator": service.engine.is_validator}
