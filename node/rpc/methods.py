"""The JSON-RPC methods. Each takes positional params already split from the request; parsing helpers
raise ``InvalidParams`` and the dispatcher turns any ``RpcError`` into the wire error."""

from __future__ import annotations

import inspect
import logging
import platform
from collections import Counter
from typing import TYPE_CHECKING, Any, cast

from eth.vm.forks.prague.state import PragueState
from eth_typing import Address

from node import __version__
from node.exceptions import (
    InvalidParams,
    LimitExceeded,
    MethodNotFound,
    ResourceNotFound,
    ServerError,
)
from node.execution import (
    CallParams,
    accessed,
    estimate_gas,
    raise_if_reverted,
    run_call,
)
from node.headers import QbftHeader
from node.rpc import params as p
from node.rpc.base import MethodsBase
from node.rpc.budget import CallPool, RequestBudget
from node.rpc.context import RequestContext
from node.rpc.dev_signing import DevSigningMethods
from node.rpc.filters import Filter
from node.rpc.formatting import (
    a,
    d,
    format_block,
    format_block_receipts,
    format_header,
    format_log,
    format_receipt,
    format_tx,
    h256,
    q,
)
from node.rpc.overrides import state_overrides
from node.rpc.proof_methods import ProofMethods
from node.rpc.raw_transactions import RawTransactionMethods
from node.rpc.registry import Handler
from node.rpc.registry import rpc_method as rpc_method  # re-exported: node.qbft.rpc declares methods too
from node.rpc.simulate import SimulateMethods
from node.rpc.types import LogObject
from node.storage import BlockRecord
from node.tracing import trace_transaction
from node.txpool import decode_raw_transaction

if TYPE_CHECKING:
    from node.service import NodeService

logger = logging.getLogger(__name__)

ZERO_ADDRESS = b"\x00" * 20
PRECOMPILES = {i.to_bytes(20, "big") for i in range(1, 0x12)}


class Methods(ProofMethods, RawTransactionMethods, SimulateMethods, DevSigningMethods, MethodsBase):
    """All methods, bound to one node. ``dispatch`` checks arity like geth."""

    def is_operator_method(self, method: str) -> bool:
        """Registered with ``admin=True``: only a token that names it may call it, whatever the auth mode."""
        entry = self.table.get(method)
        return entry is not None and entry[1]

    def __init__(self, node: NodeService, calls: CallPool | None = None) -> None:
        self.node = node
        self.calls = calls or CallPool(node.limits.calls)
        self.table: dict[str, tuple[Handler, bool]] = {}
        self.served: Counter[tuple[str, str]] = Counter()  # calls dispatched by (client, method), for /metrics
        self._arity: dict[str, tuple[int, int]] = {}
        for _, member in inspect.getmembers(self, predicate=inspect.ismethod):
            name = getattr(member, "rpc_name", None)
            if name:
                self.table[name] = (member, getattr(member, "rpc_admin", False))
                positional = [
                    prm
                    for prm in inspect.signature(member).parameters.values()
                    if prm.kind in (prm.POSITIONAL_ONLY, prm.POSITIONAL_OR_KEYWORD)
                ]
                required = sum(1 for prm in positional if prm.default is prm.empty)
                self._arity[name] = (required, len(positional))

    async def dispatch(self, method: str, params: list[Any], ctx: RequestContext | None = None) -> Any:
        ctx = ctx or RequestContext(client="local", budget=RequestBudget(self.calls.limits))
        entry = self.table.get(method)
        if entry is None:
            raise MethodNotFound(method)
        handler, _ = entry
        self.served[ctx.client, method] += 1
        required, most = self._arity[method]
        if len(params) > most:
            raise InvalidParams(f"too many arguments, want at most {most}")
        if len(params) < required:
            raise InvalidParams(f"missing value for required argument {len(params)}")
        if getattr(handler, "rpc_blocking", False):
            return await self.calls.run(ctx.client, ctx.budget, handler, *params)
        result = handler(*params)
        if inspect.isawaitable(result):
            result = await result
        return result

    # --- web3 / net ---------------------------------------------------------------------------------
    @rpc_method("web3_clientVersion")
    def web3_client_version(self) -> str:
        return f"reponet-node/v{__version__}/linux/python{platform.python_version()}/py-evm-0.12.1b1"

    @rpc_method("web3_sha3")
    def web3_sha3(self, value: Any) -> str:
        from eth_utils.crypto import keccak

        return d(keccak(p.data(value)))

    @rpc_method("net_version")
    def net_version(self) -> str:
        return str(self.node.chain.chain_id)

    @rpc_method("net_listening")
    def net_listening(self) -> bool:
        return True

    @rpc_method("net_peerCount")
    def net_peer_count(self) -> str:
        return "0x0"

    # --- chain info ---------------------------------------------------------------------------------
    @rpc_method("eth_chainId")
    def eth_chain_id(self) -> str:
        return q(self.node.chain.chain_id)

    @rpc_method("eth_blockNumber")
    def eth_block_number(self) -> str:
        return q(self.node.chain.head.block_number)

    @rpc_method("eth_syncing")
    def eth_syncing(self) -> bool:
        return False

    @rpc_method("eth_mining")
    def eth_mining(self) -> bool:
        return self.node.chain.consensus.local_address is not None

    @rpc_method("eth_hashrate")
    def eth_hashrate(self) -> str:
        return "0x0"

    @rpc_method("eth_coinbase")
    def eth_coinbase(self) -> str | None:
        return a(self.node.chain.consensus.local_address)

    @rpc_method("eth_gasPrice")
    def eth_gas_price(self) -> str:
        return q(self.node.chain.head.base_fee_per_gas or 0)

    @rpc_method("eth_maxPriorityFeePerGas")
    def eth_max_priority_fee_per_gas(self) -> str:
        return "0x0"

    @rpc_method("eth_blobBaseFee")
    def eth_blob_base_fee(self) -> str:
        return "0x1"

    @rpc_method("eth_feeHistory")
    def eth_fee_history(self, block_count: Any, newest: Any, percentiles: Any = None) -> dict[str, Any]:
        count = p.quantity(block_count, "blockCount")
        if count == 0:
            return {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": []}
        count = min(count, 1024)
        header = self._state_header(newest)
        if percentiles is not None and (
            not isinstance(percentiles, list)
            or not all(isinstance(x, int | float) for x in percentiles)
            or any(x < 0 or x > 100 for x in percentiles)
            or percentiles != sorted(percentiles)
        ):
            raise InvalidParams("invalid reward percentiles")
        oldest = max(0, header.block_number - count + 1)
        headers = [self.node.chain.header(n) for n in range(oldest, header.block_number + 1)]
        result: dict[str, Any] = {
            "oldestBlock": q(oldest),
            "baseFeePerGas": [q(h.base_fee_per_gas or 0) for h in headers if h] + [q(0)],
            "gasUsedRatio": [(h.gas_used / h.gas_limit) if h and h.gas_limit else 0.0 for h in headers],
            "baseFeePerBlobGas": ["0x1"] * (len(headers) + 1),
            "blobGasUsedRatio": [0.0] * len(headers),
        }
        if percentiles:
            result["reward"] = [["0x0"] * len(percentiles) for _ in headers]
        return result

    # --- state --------------------------------------------------------------------------------------
    @rpc_method("eth_getBalance")
    def eth_get_balance(self, address: Any, block: Any = "latest") -> str:
        addr = p.address(address)
        return q(self._state(block).get_balance(cast(Address, addr)))

    @rpc_method("eth_getCode")
    def eth_get_code(self, address: Any, block: Any = "latest") -> str:
        addr = p.address(address)
        return d(self._state(block).get_code(cast(Address, addr)))

    @rpc_method("eth_getStorageAt")
    def eth_get_storage_at(self, address: Any, slot: Any, block: Any = "latest") -> str:
        addr = p.address(address)
        if isinstance(slot, str) and len(slot) == 66:
            key = int.from_bytes(p.hash32(slot, "storage slot"), "big")
        else:
            key = p.quantity(slot, "storage slot")
        return h256(self._state(block).get_storage(cast(Address, addr), key))

    @rpc_method("eth_getTransactionCount")
    def eth_get_transaction_count(self, address: Any, block: Any = "latest") -> str:
        addr = p.address(address)
        ref = p.block_ref(block)
        nonce = self._state(block).get_nonce(cast(Address, addr))
        if ref.tag == "pending":
            nonce = self.node.pool.pending_nonce(addr, nonce)
        return q(nonce)

    # --- blocks -------------------------------------------------------------------------------------
    @rpc_method("eth_getBlockByNumber")
    def eth_get_block_by_number(self, block: Any, full: Any = False) -> dict[str, Any] | None:
        record = self._block_record(block, allow_hash=False)
        if record is None:
            return None
        result = format_block(record, p.boolean(full, "fullTx"))
        if p.block_ref(block, allow_hash=False).tag == "pending":
            result.update(hash=None, nonce=None, miner=None)  # as geth: a pending block is not sealed yet
        return result

    @rpc_method("eth_getBlockByHash")
    def eth_get_block_by_hash(self, block_hash: Any, full: Any = False) -> dict[str, Any] | None:
        record = self._record(self._header(p.BlockRef(hash=p.hash32(block_hash, "block hash"))))
        return None if record is None else format_block(record, p.boolean(full, "fullTx"))

    @rpc_method("eth_getBlockTransactionCountByNumber")
    def eth_get_block_tx_count_by_number(self, block: Any) -> str | None:
        record = self._block_record(block, allow_hash=False)
        return None if record is None else q(len(record.transactions))

    @rpc_method("eth_getBlockTransactionCountByHash")
    def eth_get_block_tx_count_by_hash(self, block_hash: Any) -> str | None:
        record = self._record(self._header(p.BlockRef(hash=p.hash32(block_hash, "block hash"))))
        return None if record is None else q(len(record.transactions))

    @rpc_method("eth_getUncleCountByBlockNumber")
    def eth_get_uncle_count_by_number(self, block: Any) -> str | None:
        return None if self._header(p.block_ref(block, allow_hash=False)) is None else "0x0"

    @rpc_method("eth_getUncleCountByBlockHash")
    def eth_get_uncle_count_by_hash(self, block_hash: Any) -> str | None:
        return None if self._header(p.BlockRef(hash=p.hash32(block_hash))) is None else "0x0"

    @rpc_method("eth_getBlockReceipts")
    def eth_get_block_receipts(self, block: Any) -> list[dict[str, Any]] | None:
        record = self._record(self._header(p.block_ref(block)))
        if record is None:
            return None
        return format_block_receipts(record)

    # --- transactions -------------------------------------------------------------------------------
    @rpc_method("eth_getTransactionByHash")
    def eth_get_transaction_by_hash(self, tx_hash: Any) -> dict[str, Any] | None:
        raw = p.hash32(tx_hash, "transaction hash")
        location = self.node.chain.store.tx_location(raw)
        if location is None:
            pending = self.node.pool.get(raw)
            return None if pending is None else format_tx(pending, None, None)
        record = self.node.chain.store.block(location[0])
        if record is None:
            return None
        return format_tx(record.transactions[location[1]], record.header, location[1])

    def _tx_at(self, record: BlockRecord | None, index: Any) -> dict[str, Any] | None:
        i = p.quantity(index, "index")
        if record is None or i >= len(record.transactions):
            return None
        return format_tx(record.transactions[i], record.header, i)

    @rpc_method("eth_getTransactionByBlockNumberAndIndex")
    def eth_get_tx_by_number_and_index(self, block: Any, index: Any) -> dict[str, Any] | None:
        return self._tx_at(self._block_record(block, allow_hash=False), index)

    @rpc_method("eth_getTransactionByBlockHashAndIndex")
    def eth_get_tx_by_hash_and_index(self, block_hash: Any, index: Any) -> dict[str, Any] | None:
        return self._tx_at(self._record(self._header(p.BlockRef(hash=p.hash32(block_hash, "block hash")))), index)

    @rpc_method("eth_getTransactionReceipt")
    def eth_get_transaction_receipt(self, tx_hash: Any) -> dict[str, Any] | None:
        raw = p.hash32(tx_hash, "transaction hash")
        location = self.node.chain.store.tx_location(raw)
        if location is None:
            return None
        record = self.node.chain.store.block(location[0])
        return None if record is None else format_receipt(record, location[1])

    @rpc_method("eth_sendRawTransaction")
    def eth_send_raw_transaction(self, raw_tx: Any) -> str:
        raw = p.data(raw_tx, "transaction")
        tx = decode_raw_transaction(raw)
        return d(self.node.submit(tx))

    # --- execution ----------------------------------------------------------------------------------
    @rpc_method("eth_call", blocking=True)
    def eth_call(self, call: Any, block: Any = "latest", overrides: Any = None) -> str:
        obj = p.call_object(call)
        accounts = state_overrides(overrides)
        params = self._call_params(obj, self.node.limits.call_gas_cap)
        computation = run_call(self._state(block, accounts), params)
        raise_if_reverted(computation)
        return d(computation.output)

    @rpc_method("eth_estimateGas", blocking=True)
    def eth_estimate_gas(self, call: Any, block: Any = "latest", overrides: Any = None) -> str:
        obj = p.call_object(call)
        accounts = state_overrides(overrides)
        cap = min(self.node.limits.call_gas_cap, self.node.chain.head.gas_limit)
        params = self._call_params(obj, cap)
        raw_block = block

        def fresh() -> PragueState:
            return self._state(raw_block, accounts)

        try:
            return q(estimate_gas(fresh, params, params.gas))
        except ServerError as exc:
            if exc.message == "out of gas":
                raise ServerError(f"gas required exceeds allowance ({params.gas})") from exc
            raise

    @rpc_method("eth_createAccessList", blocking=True)
    def eth_create_access_list(self, call: Any, block: Any = "latest") -> dict[str, Any]:
        obj = p.call_object(call)
        params = self._call_params(obj, min(self.node.limits.call_gas_cap, self.node.chain.head.gas_limit))
        state = self._state(block)
        computation = run_call(state, params)
        touched = accessed(state)
        excluded = {params.sender, params.to, bytes(state.coinbase)} | PRECOMPILES
        access = tuple(
            # like geth: sender, recipient, coinbase and precompiles only when no storage of theirs was touched
            (addr, tuple(sorted(slots)))
            for addr, slots in sorted(touched.items())
            if slots or addr not in excluded
        )
        final = run_call(self._state(block), CallParams(**{**params.__dict__, "access_list": access}))
        result: dict[str, Any] = {
            "accessList": [{"address": a(addr), "storageKeys": [h256(s) for s in slots]} for addr, slots in access],
            "gasUsed": q(
                params.gas - final.get_gas_remaining() - final.get_gas_refund()
                if not final.is_error
                else params.gas - computation.get_gas_remaining()
            ),
        }
        if final.is_error:
            result["error"] = "execution reverted" if final.output else str(final.error) or "execution error"
        return result

    # --- logs and filters ---------------------------------------------------------------------------
    def _range(self, flt: p.LogFilter) -> tuple[int, int]:
        if flt.block_hash is not None:
            number = self.node.chain.store.number_by_hash(flt.block_hash)
            if number is None:
                raise ResourceNotFound("unknown block")
            return number, number
        head = self.node.chain.head.block_number

        def resolve(ref: p.BlockRef) -> int:
            if ref.tag == "earliest":
                return 0
            if ref.tag is not None:
                return head
            return cast(int, ref.number)

        start, end = resolve(flt.from_block), resolve(flt.to_block)
        if start > end:
            raise ServerError("invalid block range params")
        limit = self.node.limits.max_log_range
        if end - start + 1 > limit:
            raise LimitExceeded(f"exceed maximum block range: {limit}")
        return start, min(end, head)

    def find_logs(self, flt: p.LogFilter, start: int, end: int) -> list[LogObject]:
        limits = self.node.limits
        if end - start + 1 > limits.max_log_range:
            raise LimitExceeded(f"exceed maximum block range: {limits.max_log_range}")
        store = self.node.chain.store
        positions = store.find_logs(start, end, flt.addresses, flt.topics, limits.max_logs)
        if len(positions) > limits.max_logs:
            raise LimitExceeded(f"query returned more than {limits.max_logs} results")
        logs: list[LogObject] = []
        for pos in positions:
            record = store.block(pos.number)
            if record is None:
                continue
            first = 0
            for receipt in record.receipts[: pos.tx_index]:
                first += len(receipt.logs)
            log = record.receipts[pos.tx_index].logs[pos.log_index - first]
            logs.append(
                format_log(
                    record.header,
                    record.transactions[pos.tx_index],
                    pos.tx_index,
                    pos.log_index,
                    log.address,
                    log.topics,
                    log.data,
                )
            )
        return logs

    @rpc_method("eth_getLogs", blocking=True)
    def eth_get_logs(self, criteria: Any) -> list[LogObject]:
        flt = p.log_filter(criteria)
        start, end = self._range(flt)
        if start > end:
            return []
        return self.find_logs(flt, start, end)

    @rpc_method("eth_newFilter")
    def eth_new_filter(self, criteria: Any) -> str:
        flt = p.log_filter(criteria)
        return self.node.filters.install(Filter("logs", criteria=flt))

    @rpc_method("eth_newBlockFilter")
    def eth_new_block_filter(self) -> str:
        return self.node.filters.install(Filter("block"))

    @rpc_method("eth_newPendingTransactionFilter")
    def eth_new_pending_tx_filter(self, full: Any = False) -> str:
        return self.node.filters.install(Filter("pending"))

    @rpc_method("eth_getFilterChanges")
    def eth_get_filter_changes(self, fid: Any) -> list[Any]:
        if not isinstance(fid, str):
            raise InvalidParams("invalid argument 0: filter id expected")
        return self.node.filters.take_changes(fid)

    @rpc_method("eth_getFilterLogs", blocking=True)
    def eth_get_filter_logs(self, fid: Any) -> list[LogObject]:
        if not isinstance(fid, str):
            raise InvalidParams("invalid argument 0: filter id expected")
        flt = self.node.filters.get(fid)
        if flt.kind != "logs" or flt.criteria is None:
            raise ServerError("filter not found")
        start, end = self._range(flt.criteria)
        return [] if start > end else self.find_logs(flt.criteria, start, end)

    @rpc_method("eth_uninstallFilter")
    def eth_uninstall_filter(self, fid: Any) -> bool:
        if not isinstance(fid, str):
            raise InvalidParams("invalid argument 0: filter id expected")
        return self.node.filters.uninstall(fid)

    # --- txpool -------------------------------------------------------------------------------------
    @rpc_method("txpool_status")
    def txpool_status(self) -> dict[str, str]:
        pending, queued = self.node.pool.split()
        return {
            "pending": q(sum(len(v) for v in pending.values())),
            "queued": q(sum(len(v) for v in queued.values())),
        }

    @rpc_method("txpool_content")
    def txpool_content(self) -> dict[str, Any]:
        pending, queued = self.node.pool.split()

        def fmt(group: dict[bytes, list[Any]]) -> dict[str, dict[str, Any]]:
            return {
                "0x" + sender.hex(): {str(tx.nonce): format_tx(tx, None, None) for tx in txs}
                for sender, txs in group.items()
            }

        return {"pending": fmt(pending), "queued": fmt(queued)}

    # --- debug --------------------------------------------------------------------------------------
    @rpc_method("debug_traceTransaction", blocking=True)
    def debug_trace_transaction(self, tx_hash: Any, options: Any = None) -> Any:
        raw = p.hash32(tx_hash, "transaction hash")
        tracer = options.get("tracer") if isinstance(options, dict) else None
        if tracer != "callTracer":
            raise InvalidParams('only {"tracer": "callTracer"} is supported')
        config = options.get("tracerConfig") or {} if isinstance(options, dict) else {}
        location = self.node.chain.store.tx_location(raw)
        if location is None:
            raise ServerError("transaction not found")
        return trace_transaction(self.node.chain, location[0], location[1], bool(config.get("onlyTopCall")))

    # --- operator (admin listener only) -------------------------------------------------------------
    @rpc_method("reponet_setAccountRules", admin=True)
    def reponet_set_account_rules(self, address: Any) -> dict[str, Any]:
        rules = None if address is None else p.address(address)
        self.node.set_account_rules(rules)
        return self.reponet_permissioning()

    @rpc_method("reponet_addToAllowlist", admin=True)
    def reponet_add_to_allowlist(self, address: Any) -> dict[str, Any]:
        self.node.add_to_allowlist(p.address(address))
        return self.reponet_permissioning()

    @rpc_method("reponet_permissioning")
    def reponet_permissioning(self) -> dict[str, Any]:
        perm = self.node.permissioner
        return {
            "accountRules": a(perm.rules_address),
            "allowlist": ["0x" + x.hex() for x in sorted(perm.allowlist)],
        }

    @rpc_method("qbft_getValidatorsByBlockNumber")
    def qbft_get_validators_by_block_number(self, block: Any = "latest") -> list[str]:
        header = self._state_header(block)
        return ["0x" + v.hex() for v in self.node.chain.consensus.validators_after(header)]

    # subscriptions are connection-bound: the WebSocket handler answers them; over HTTP they are refused
    @rpc_method("eth_subscribe")
    def eth_subscribe(self, kind: Any, options: Any = None) -> str:
        raise ServerError("notifications not supported")

    @rpc_method("eth_unsubscribe")
    def eth_unsubscribe(self, sid: Any) -> bool:
        raise ServerError("notifications not supported")


def header_json(header: QbftHeader) -> dict[str, Any]:
    return format_header(header)
