"""``eth_simulateV1``: calls executed in a chain of simulated blocks on top of a real one, nothing kept.

The subset clients use: ``blockStateCalls`` (each with ``stateOverrides``, ``blockOverrides`` of number, time,
gas limit and fee recipient, and ``calls``), the ``validation`` flag, and for each call its status, return data,
gas used, logs and error. State carries from call to call and block to block. With ``validation`` a call's
``nonce`` must be the sender's; without it the nonce is ignored, as for ``eth_call``. A call that cannot execute
at all (funds, intrinsic gas, nonce) fails the request; a revert or VM error is that call's result.

The simulated blocks are not sealed: their hashes are computed from their headers, and each call's transaction
hash from its unsigned fields and sender (there is no signature to hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import rlp
from eth.exceptions import Revert
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.state import PragueState
from eth_bloom.bloom import BloomFilter
from eth_typing import Address
from eth_utils.crypto import keccak

from node.chain import AncestorHashes
from node.exceptions import InvalidParams, ServerError
from node.execution import CallParams, child_header, execution_context, run_call, spoof_transaction
from node.headers import QbftHeader, copy_header
from node.ordered_trie import ordered_trie_root
from node.receipts import encode_receipt
from node.rpc import params as p
from node.rpc.base import ZERO_ADDRESS, MethodsBase
from node.rpc.formatting import a, d, format_header, q
from node.rpc.overrides import StateOverrides, apply_overrides, state_overrides
from node.rpc.registry import rpc_method

MAX_BLOCKS = 256
MAX_CALLS = 1_000
REVERTED = 3  # geth's code for a reverted call
VM_ERROR = -32015  # geth's code for any other execution failure


@dataclass(frozen=True)
class BlockStateCall:
    overrides: StateOverrides
    number: int | None
    time: int | None
    gas_limit: int | None
    fee_recipient: bytes | None
    calls: tuple[tuple[p.CallObject, Any], ...]


def _block_state_call(value: Any) -> BlockStateCall:
    if not isinstance(value, dict):
        raise InvalidParams("invalid argument 0: blockStateCalls entry must be an object")
    block = value.get("blockOverrides") or {}
    if not isinstance(block, dict):
        raise InvalidParams("invalid argument 0: blockOverrides must be an object")
    calls = value.get("calls") or []
    if not isinstance(calls, list):
        raise InvalidParams("invalid argument 0: calls must be a list")

    def number(key: str) -> int | None:
        return p.quantity(block[key], key) if block.get(key) is not None else None

    return BlockStateCall(
        overrides=state_overrides(value.get("stateOverrides")),
        number=number("number"),
        time=number("time"),
        gas_limit=number("gasLimit"),
        fee_recipient=p.address(block["feeRecipient"], "feeRecipient") if block.get("feeRecipient") else None,
        calls=tuple((p.call_object(call), call) for call in calls),
    )


class SimulateMethods(MethodsBase):
    @rpc_method("eth_simulateV1", blocking=True)
    def eth_simulate_v1(self, payload: Any, block: Any = "latest") -> list[dict[str, Any]]:
        if not isinstance(payload, dict) or not isinstance(payload.get("blockStateCalls"), list):
            raise InvalidParams("invalid argument 0: object with blockStateCalls expected")
        validation = bool(payload.get("validation", False))
        blocks = [_block_state_call(entry) for entry in payload["blockStateCalls"]]
        if len(blocks) > MAX_BLOCKS:
            raise InvalidParams(f"invalid argument 0: at most {MAX_BLOCKS} blocks")
        if sum(len(b.calls) for b in blocks) > MAX_CALLS:
            raise InvalidParams(f"invalid argument 0: at most {MAX_CALLS} calls")
        state = self._state(block)
        parent = self.node.chain.head if p.block_ref(block).tag == "pending" else self._state_header(block)
        results = []
        for spec in blocks:
            header, result = self._simulate_block(state, parent, spec, validation)
            results.append(result)
            parent = header
        return results

    def _simulate_block(
        self, state: PragueState, parent: QbftHeader, spec: BlockStateCall, validation: bool
    ) -> tuple[QbftHeader, dict[str, Any]]:
        number = spec.number if spec.number is not None else parent.block_number + 1
        timestamp = spec.time if spec.time is not None else parent.timestamp + 1
        if number <= parent.block_number:
            raise ServerError(f"block numbers must increase: {number} after {parent.block_number}", None)
        if timestamp <= parent.timestamp:
            raise ServerError(f"block timestamps must increase: {timestamp} after {parent.timestamp}", None)
        template = copy_header(
            child_header(parent, timestamp, spec.fee_recipient or parent.coinbase or ZERO_ADDRESS, b""),
            block_number=number,
            gas_limit=spec.gas_limit if spec.gas_limit is not None else parent.gas_limit,
        )
        chain = self.node.chain
        state.execution_context = execution_context(
            template, AncestorHashes(chain.store, min(parent.block_number, chain.head.block_number)), chain.chain_id
        )
        apply_overrides(state, spec.overrides)
        gas_used = 0
        bloom = BloomFilter()
        calls: list[dict[str, Any]] = []
        hashes: list[bytes] = []
        encoded_txs: list[bytes] = []
        receipts: list[bytes] = []
        log_count = 0
        for obj, raw in spec.calls:
            params = CallParams(
                sender=obj.sender or ZERO_ADDRESS,
                to=obj.to,
                gas=obj.gas if obj.gas is not None else template.gas_limit - gas_used,
                value=obj.value,
                data=obj.data,
                access_list=obj.access_list,
            )
            if params.gas > template.gas_limit - gas_used:
                raise ServerError(f"block gas limit reached: call {len(calls)} wants {params.gas}")
            if validation:
                self._validate(state, obj, raw)
            tx = spoof_transaction(state, params, params.gas)
            unsigned = rlp.encode(cast(Any, tx).spoof_target)  # the unsigned fields under the spoof
            tx_hash = keccak(b"\x02" + unsigned + params.sender)
            computation = run_call(state, params)
            used = PragueVM.finalize_gas_used(tx, computation)
            gas_used += used
            entries = computation.get_log_entries()
            receipt = Receipt(
                state_root=b"" if computation.is_error else b"\x01",
                gas_used=gas_used,
                bloom=0,
                logs=[Log(addr, tuple(topics), data) for addr, topics, data in entries],
            )
            receipt_bloom = BloomFilter()
            for log in receipt.logs:
                receipt_bloom.add(log.address)
                for topic in log.topics:
                    receipt_bloom.add(topic.to_bytes(32, "big"))
            bloom |= receipt_bloom
            receipts.append(b"\x02" + encode_receipt(receipt.copy(bloom=int(receipt_bloom))))
            encoded_txs.append(b"\x02" + unsigned)
            hashes.append(tx_hash)
            calls.append(self._call_result(computation, used, log_count))
            log_count += len(entries)
        state.lock_changes()
        header = copy_header(
            template,
            gas_used=gas_used,
            bloom=int(bloom),
            state_root=state.make_state_root(),
            transaction_root=ordered_trie_root(encoded_txs),
            receipt_root=ordered_trie_root(receipts),
        )
        result = format_header(header)
        for i, call in enumerate(calls):  # the logs learn their block and transaction now that both are known
            for log in call["logs"]:
                log.update(
                    transactionIndex=q(i),
                    transactionHash=d(hashes[i]),
                    blockHash=d(header.hash),
                    blockNumber=q(number),
                    blockTimestamp=q(timestamp),
                )
        result.update(transactions=[d(h) for h in hashes], uncles=[], withdrawals=[], calls=calls)
        return header, result

    def _validate(self, state: PragueState, obj: p.CallObject, raw: dict[str, Any]) -> None:
        sender = cast(Address, obj.sender or ZERO_ADDRESS)
        if obj.nonce is not None:
            have = state.get_nonce(sender)
            if obj.nonce != have:
                way = "high" if obj.nonce > have else "low"
                raise ServerError(f"nonce too {way}: address {a(sender)}, tx: {obj.nonce} state: {have}")
        base_fee = state.execution_context.base_fee_per_gas or 0
        fee = raw.get("maxFeePerGas", raw.get("gasPrice"))
        if fee is not None and p.quantity(fee, "maxFeePerGas") < base_fee:
            raise ServerError(f"max fee per gas less than block base fee: have {fee}, want {base_fee}")

    @staticmethod
    def _call_result(computation: Any, gas_used: int, first_log: int) -> dict[str, Any]:
        output = bytes(computation.output)
        result: dict[str, Any] = {
            "status": "0x0" if computation.is_error else "0x1",
            "returnData": d(output),
            "gasUsed": q(gas_used),
            "logs": [
                {
                    "address": a(addr),
                    "topics": [d(t.to_bytes(32, "big")) for t in topics],
                    "data": d(data),
                    "logIndex": q(first_log + i),
                    "removed": False,
                }
                for i, (addr, topics, data) in enumerate(() if computation.is_error else computation.get_log_entries())
            ],
        }
        if computation.is_error:
            if isinstance(computation.error, Revert):
                result["error"] = {"code": REVERTED, "message": "execution reverted", "data": d(output)}
            else:
                message = str(computation.error) or type(computation.error).__name__
                result["error"] = {"code": VM_ERROR, "message": message}
        return result
