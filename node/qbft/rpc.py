"""JSON-RPC methods of a QBFT network node (Besu's ``qbft_*`` names), added to the node's own methods."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from node.exceptions import ConfigError, InvalidParams
from node.p2p.enode import Enode
from node.p2p.permissions import read_node_allowlist, write_permissions_file
from node.qbft.engine import NEW_BLOCK, TestFaults, with_seals
from node.qbft.messages import Block, Commit, Proposal, encode_blocks, encode_message
from node.qbft.state import make_seal
from node.qbft_extra import QbftExtraData
from node.rpc import params as p
from node.rpc.methods import Methods, rpc_method

if TYPE_CHECKING:
    from node.qbft.service import QbftNodeService


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidParams("expected a boolean")
    return value


class QbftMethods(Methods):
    node: QbftNodeService

    def __init__(self, node: QbftNodeService, test_faults: bool = False) -> None:
        self._test_faults = test_faults
        super().__init__(node)
        if not test_faults:
            for name in [n for n in self.table if n.startswith("reponet_test")]:
                del self.table[name]

    @rpc_method("net_peerCount")
    def net_peer_count(self) -> str:
        return hex(len(self.node.peer_manager.connected()))

    @rpc_method("admin_peers", admin=True)
    def admin_peers(self) -> list[dict[str, Any]]:
        return [
            {
                "enode": str(peer.enode),
                "id": "0x" + peer.pubkey.hex(),
                "address": "0x" + peer.address.hex(),
                "head": peer.head_number,
                "network": {
                    "localAddress": peer.local_address,
                    "remoteAddress": peer.remote_address,
                    "inbound": not peer.dialled,
                },
            }
            for peer in self.node.peer_manager.connected()
        ]

    @rpc_method("admin_nodeInfo", admin=True)
    def admin_node_info(self) -> dict[str, Any]:
        return {"enode": str(self.node.peer_manager.enode), "validator": self.node.engine.is_validator}

    @rpc_method("perm_getNodesAllowlist", admin=True)
    def perm_get_nodes_allowlist(self) -> list[str]:
        return [str(e) for e in read_node_allowlist(self.node.permissions_file)]

    @rpc_method("perm_addNodesToAllowlist", admin=True)
    def perm_add_nodes_to_allowlist(self, enodes: Any) -> str:
        return self._change_allowlist(enodes, add=True)

    @rpc_method("perm_removeNodesFromAllowlist", admin=True)
    def perm_remove_nodes_from_allowlist(self, enodes: Any) -> str:
        return self._change_allowlist(enodes, add=False)

    def _change_allowlist(self, enodes: Any, add: bool) -> str:
        """Besu's local node-allowlist methods: the file is rewritten and takes effect for new connections."""
        if not isinstance(enodes, list) or not all(isinstance(e, str) for e in enodes):
            raise InvalidParams("expected a list of enode URLs")
        try:
            changes = [Enode.parse(e) for e in enodes]
        except ConfigError as exc:
            raise InvalidParams(str(exc)) from exc
        path = self.node.permissions_file
        current = read_node_allowlist(path)
        if add:
            current += [e for e in changes if e.pubkey not in {c.pubkey for c in current}]
        else:
            current = [e for e in current if e.pubkey not in {c.pubkey for c in changes}]
        accounts = sorted(self.node.permissioner.allowlist)
        write_permissions_file(path, current, accounts)
        manager = self.node.peer_manager
        manager.permissioner.allowed_ids = {e.pubkey for e in current}
        for peer in manager.connected():
            if not manager.permissioner.is_allowed(peer.pubkey, peer.enode.host, peer.enode.port):
                peer.close()
        return "Success"

    @rpc_method("qbft_getValidatorsByBlockNumber")
    def qbft_get_validators_by_block_number(self, block: Any = "latest") -> list[str]:
        """The validators of that block (those whose seals it carries), as Besu answers."""
        header = self._state_header(block)
        chain = self.node.chain
        parent = chain.header(header.block_number - 1) if header.block_number > 0 else header
        assert parent is not None
        return ["0x" + v.hex() for v in chain.consensus.validators_after(parent)]

    @rpc_method("qbft_proposeValidatorVote", admin=True)
    def qbft_propose_validator_vote(self, address: Any, add: Any) -> bool:
        self.node.engine.consensus.pending_votes.propose(p.address(address), _bool(add))
        return True

    @rpc_method("qbft_discardValidatorVote", admin=True)
    def qbft_discard_validator_vote(self, address: Any) -> bool:
        self.node.engine.consensus.pending_votes.discard(p.address(address))
        return True

    @rpc_method("qbft_getPendingVotes")
    def qbft_get_pending_votes(self) -> dict[str, bool]:
        return {"0x" + a.hex(): add for a, add in self.node.engine.consensus.pending_votes.votes.items()}

    @rpc_method("qbft_getSignerMetrics", blocking=True)
    def qbft_get_signer_metrics(self, start: Any = None, end: Any = None) -> list[dict[str, Any]]:
        """Blocks proposed per validator over a range (default: the last 100 blocks), as Besu reports them."""
        chain = self.node.chain
        head = chain.head.block_number

        def number(raw: Any, default: int) -> int:
            if raw is None:
                return default
            ref = p.block_ref(raw, allow_hash=False)
            if ref.number is not None:
                return ref.number
            return 0 if ref.tag == "earliest" else head

        last = min(number(end, head), head)
        first = max(number(start, last - 99), 1)
        metrics: dict[bytes, dict[str, Any]] = {}
        for validator in chain.consensus.validators_after(chain.head):
            metrics[validator] = {
                "address": "0x" + validator.hex(),
                "proposedBlockCount": "0x0",
                "lastProposedBlockNumber": "0x0",
            }
        for height in range(first, last + 1):
            header = chain.header(height)
            if header is None:
                break
            coinbase = bytes(header.coinbase)
            entry = metrics.setdefault(
                coinbase,
                {"address": "0x" + coinbase.hex(), "proposedBlockCount": "0x0", "lastProposedBlockNumber": "0x0"},
            )
            entry["proposedBlockCount"] = hex(int(entry["proposedBlockCount"], 16) + 1)
            entry["lastProposedBlockNumber"] = hex(height)
        return list(metrics.values())

    @rpc_method("reponet_qbftStatus")
    def reponet_qbft_status(self) -> dict[str, Any]:
        engine = self.node.engine
        hs = engine.hs
        return {
            "height": hex(hs.height),
            "round": hex(hs.round),
            "validator": engine.is_validator,
            "peers": len(self.node.peer_manager.connected()),
            "faultsDetected": engine.metrics.fault_count,
            "recentFaults": list(engine.metrics.faults)[-20:],
            "roundChanges": engine.metrics.rounds_changed,
            "blocksCommitted": engine.metrics.blocks_committed,
            "blocksImported": engine.metrics.blocks_imported,
            "refusedPeers": self.node.peer_manager.counters.refused,
            "failedHandshakes": self.node.peer_manager.counters.failed_handshakes,
            "refusedConnections": self.node.peer_manager.counters.refused_connections,
            "unprovenConnections": self.node.peer_manager.unproven,
        }

    # test-only fault injection (registered only with --test-faults) --------------------------------
    @rpc_method("reponet_testFaults")
    def reponet_test_faults(self, settings: Any) -> dict[str, Any]:
        if not isinstance(settings, dict):
            raise InvalidParams("expected an object")
        engine = self.node.engine
        faults: TestFaults = engine.faults
        for name in ("equivocate", "conflicting_votes", "silent"):
            if name in settings:
                setattr(faults, name, _bool(settings[name]))
        if "drop" in settings:
            self.node.peer_manager.faults.dropped = {p.address(a) for a in settings["drop"]}
        return {
            "equivocate": faults.equivocate,
            "conflicting_votes": faults.conflicting_votes,
            "silent": faults.silent,
            "drop": ["0x" + a.hex() for a in sorted(self.node.peer_manager.faults.dropped)],
        }

    @rpc_method("reponet_testForgeBlock")
    async def reponet_test_forge_block(self) -> str:
        """Seal the next block with this node's key alone and announce it, as an outsider would try."""
        return await forge_block(self.node)


async def forge_block(node: QbftNodeService) -> str:
    engine = node.engine
    key = engine.consensus.key
    assert key is not None
    chain = engine.chain
    head = chain.head
    me = bytes(key.public_key.to_canonical_address())
    extra = QbftExtraData(validators=chain.consensus.validators_after(head)).encode()
    candidate = await asyncio.to_thread(
        chain.build_candidate, node.pool.pending_for_block(), int(time.time()), me, extra
    )
    candidate.db.discard()
    header = candidate.built.header
    seal = make_seal(key, bytes(header.hash))
    sealed = with_seals(header, (seal,))
    block = Block(header, tuple(candidate.built.transactions))
    height = head.block_number + 1
    node.peer_manager.broadcast(NEW_BLOCK, encode_blocks([(sealed, candidate.built.transactions)]))
    for msg in (Proposal(height, 0, block).signed(key), Commit(height, 0, block.digest, seal).signed(key)):
        code, payload = encode_message(msg)
        node.peer_manager.broadcast(code, payload)
    return "0x" + bytes(header.hash).hex()
