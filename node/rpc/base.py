"""What every group of JSON-RPC methods shares: the node, block resolution (``pending`` is head + 1), the state a
client's call executes on (budgeted, with state overrides) and the call object as execution parameters.

The methods are split by subject (:mod:`node.rpc.methods`, :mod:`node.rpc.proof_methods`,
:mod:`node.rpc.simulate`, :mod:`node.rpc.dev_signing`, ...); each group subclasses :class:`MethodsBase`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from eth.vm.forks.prague.state import PragueState

from node.exceptions import ServerError
from node.execution import CallParams, child_header
from node.headers import QbftHeader, copy_header
from node.rpc import params as p
from node.rpc.budget import CallPool, budgeted
from node.rpc.overrides import StateOverrides, apply_overrides
from node.rpc.registry import Handler
from node.storage import BlockRecord

if TYPE_CHECKING:
    from node.service import NodeService

ZERO_ADDRESS = b"\x00" * 20


class MethodsBase:
    node: NodeService
    calls: CallPool
    table: dict[str, tuple[Handler, bool]]

    # --- block resolution ---------------------------------------------------------------------------
    def _header(self, ref: p.BlockRef) -> QbftHeader | None:
        chain = self.node.chain
        if ref.hash is not None:
            number = chain.store.number_by_hash(ref.hash)
            return None if number is None else chain.header(number)
        if ref.tag is not None:
            return chain.header(0) if ref.tag == "earliest" else chain.head
        assert ref.number is not None
        return chain.header(ref.number)

    def _state_header(self, raw: Any) -> QbftHeader:
        ref = p.block_ref(raw)
        header = self._header(ref)
        if header is None:
            raise ServerError("header for hash not found" if ref.hash is not None else "header not found")
        return header

    def _state(self, raw: Any, overrides: StateOverrides = ()) -> PragueState:
        """State for executing a client's call: its computations charge the request's budget."""
        ref = p.block_ref(raw)
        if ref.tag == "pending":
            state = self.node.chain.state_for_next_block()
        else:
            state = self.node.chain.state_at(self._state_header(raw))
        apply_overrides(state, overrides)
        return budgeted(state)  # type: ignore[no-any-return]

    def _record(self, header: QbftHeader | None) -> BlockRecord | None:
        if header is None:
            return None
        return self.node.chain.store.block(header.block_number)

    def _block_record(self, raw: Any, allow_hash: bool = True) -> BlockRecord | None:
        """A block by number, tag or hash; ``pending`` is the block this node would seal next (head + 1) with the
        pool's executable transactions, not yet executed (no receipts, roots of the head)."""
        ref = p.block_ref(raw, allow_hash=allow_hash)
        if ref.tag == "pending":
            return self._pending_record()
        return self._record(self._header(ref))

    def _pending_record(self) -> BlockRecord:
        head = self.node.chain.head
        template = child_header(
            head, max(int(time.time()), head.timestamp), self.node.chain.consensus.local_address or ZERO_ADDRESS, b""
        )
        transactions = self.node.pool.pending_for_block()
        gas_limit = head.gas_limit
        included = []
        gas = 0
        for tx in transactions:  # what fits, as the builder takes it
            if gas + tx.gas <= gas_limit:
                included.append(tx)
                gas += tx.gas
        return BlockRecord(copy_header(template, state_root=head.state_root), included, [])

    # --- call objects -------------------------------------------------------------------------------
    def _call_params(self, obj: p.CallObject, default_gas: int) -> CallParams:
        gas = obj.gas if obj.gas is not None else default_gas
        if gas > self.node.limits.call_gas_cap:
            gas = self.node.limits.call_gas_cap
        return CallParams(
            sender=obj.sender or ZERO_ADDRESS,
            to=obj.to,
            gas=gas,
            value=obj.value,
            data=obj.data,
            access_list=obj.access_list,
        )
