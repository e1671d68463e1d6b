"""``debug_traceTransaction`` with geth's callTracer, built from py-evm's computation tree after
re-executing the block up to the transaction (on a throwaway view of the parent state)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth.abc import ComputationAPI
from eth.exceptions import Revert

from node.execution import apply_transactions, child_header, decode_revert_reason, open_state
from node.rpc.formatting import a, d, q

if TYPE_CHECKING:
    from node.chain import Chain


def _call_type(computation: ComputationAPI) -> str:
    msg = computation.msg
    if msg.is_create:
        return "CREATE"
    if msg.is_static:
        return "STATICCALL"
    if not msg.should_transfer_value:
        return "DELEGATECALL"
    return "CALL"


def call_frame(
    computation: ComputationAPI, gas: int | None = None, gas_used: int | None = None, only_top: bool = False
) -> dict[str, Any]:
    msg = computation.msg
    kind = _call_type(computation)
    frame: dict[str, Any] = {
        "from": a(msg.sender),
        "gas": q(gas if gas is not None else msg.gas),
        "gasUsed": q(gas_used if gas_used is not None else computation.get_gas_used()),
        "to": a(msg.storage_address),
        "input": d(msg.data_as_bytes),
        "value": q(msg.value),
        "type": kind,
    }
    if kind == "DELEGATECALL":
        frame["to"] = a(msg.code_address)
    if kind == "STATICCALL" or kind == "DELEGATECALL":
        frame.pop("value")
    if computation.is_error:
        if isinstance(computation.error, Revert):
            frame["error"] = "execution reverted"
            frame["output"] = d(computation.output)
            reason = decode_revert_reason(bytes(computation.output))
            if reason:
                frame["revertReason"] = reason
        else:
            frame["error"] = str(computation.error) or type(computation.error).__name__
    else:
        frame["output"] = d(msg.code if kind == "CREATE" and False else computation.output)
    if not only_top and computation.children:
        frame["calls"] = [call_frame(child) for child in computation.children]
    return frame


def trace_transaction(chain: Chain, number: int, index: int, only_top: bool = False) -> dict[str, Any]:
    store = chain.store
    record = store.block(number)
    parent = store.header_by_number(number - 1)
    if record is None or parent is None:
        raise ValueError("block not found")
    header = record.header
    template = child_header(parent, header.timestamp, header.coinbase, header.extra_data)
    state = open_state(
        store.state_db(), template, parent.state_root, store.recent_hashes(parent.block_number), chain.chain_id
    )
    apply_transactions(state, template, record.transactions[:index], lambda _s, _t: True)
    tx = record.transactions[index]
    state.lock_changes()
    computation = state.apply_transaction(tx)
    previous = record.receipts[index - 1].gas_used if index else 0
    gas_used = record.receipts[index].gas_used - previous
    frame = call_frame(computation, gas=tx.gas, gas_used=gas_used, only_top=only_top)
    frame["from"] = a(tx.sender)
    return frame
