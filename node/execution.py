"""Execution on py-evm's Prague state, without py-evm's chain and header database.

We drive ``PragueState`` directly: py-evm's ``Chain`` hashes headers its own way and keeps its own
indices, whereas our headers hash the Besu QBFT way and our store keeps the indices. A block is built by
applying transactions to one state object (py-evm's journal, no per-transaction state copies) and
persisting the trie nodes once at the end.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from eth.abc import (
    AccountStorageDatabaseAPI,
    AtomicDatabaseAPI,
    ComputationAPI,
    DatabaseAPI,
    ReceiptAPI,
    SignedTransactionAPI,
)
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA256, ZERO_HASH32
from eth.db.accesslog import KeyAccessLoggerDB
from eth.db.account import AccountDB
from eth.db.cache import CacheDB
from eth.db.hash_trie import HashTrie
from eth.db.journal import JournalDB
from eth.rlp.accounts import Account
from eth.validation import validate_canonical_address, validate_uint64, validate_uint256
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.cancun.constants import (
    BEACON_ROOTS_ADDRESS,
    BEACON_ROOTS_CONTRACT_CODE,
    HISTORY_BUFFER_LENGTH,
)
from eth.vm.forks.london.transactions import UnsignedDynamicFeeTransaction
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.constants import (
    HISTORY_SERVE_WINDOW,
    HISTORY_STORAGE_ADDRESS,
    HISTORY_STORAGE_CONTRACT_CODE,
)
from eth.vm.forks.prague.state import PragueState
from eth.vm.spoof import SpoofTransaction
from eth_bloom.bloom import BloomFilter
from eth_typing import Address, BlockNumber, Hash32
from eth_utils.exceptions import ValidationError as UtilsValidationError
from eth_utils.logging import ExtendedDebugLogger, get_extended_debug_logger
from rlp.codec import length_prefix

from node.build_budget import BuildBudget
from node.evm_paths import NodeComputation, NodeTransactionExecutor
from node.exceptions import ExecutionReverted, InvalidParams, ServerError
from node.headers import QbftHeader, copy_header
from node.intrinsic import intrinsic_gas, intrinsic_gas_error
from node.ordered_trie import ordered_trie_root
from node.qbft_extra import QBFT_MIX_HASH
from node.receipts import encode_receipt
from node.storage import StateDB
from node.trie_nodes import NodeAccountStorageDB, NodeHexaryTrie

logger = logging.getLogger(__name__)

ValidationErrors = (UtilsValidationError,)


def execution_context(header: QbftHeader, prev_hashes: Iterable[bytes], chain_id: int) -> ExecutionContext:
    return ExecutionContext(
        coinbase=header.coinbase,
        timestamp=header.timestamp,
        block_number=header.block_number,
        difficulty=header.difficulty,
        mix_hash=header.mix_hash,
        gas_limit=header.gas_limit,
        prev_hashes=cast(Iterable[Hash32], prev_hashes),
        chain_id=chain_id,
        base_fee_per_gas=header.base_fee_per_gas,
        excess_blob_gas=header.excess_blob_gas,
    )


_STATE_LOGGER = get_extended_debug_logger("eth.vm.state.PragueState")


def _rlp_uint(value: int) -> bytes:
    if value == 0:
        return b"\x80"
    if value < 0x80:
        return bytes((value,))
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(data),)) + data  # at most 32 bytes: a uint256


def encode_account(account: Account) -> bytes:
    """``rlp.encode(account, sedes=Account)``, byte for byte, without the generic sedes machinery (py-evm encodes
    an account on every balance or nonce change, several times a transaction)."""
    body = (
        _rlp_uint(account.nonce)
        + _rlp_uint(account.balance)
        + b"\xa0"
        + account.storage_root
        + b"\xa0"
        + account.code_hash
    )
    return bytes(length_prefix(len(body), 0xC0)) + body


class NodeAccountDB(AccountDB):
    """py-evm's account database with cheaper bookkeeping on the per-transaction path, same state and roots:

    - an account's RLP is made directly (:func:`encode_account`) and a changed balance or nonce builds the new
      ``Account`` directly instead of through ``Serializable.copy``;
    - deleting an account with no storage, whose storage was neither read nor written in this block, skips the
      storage wipe: there is nothing to wipe. EIP-161 deletes touched empty accounts (the coinbase after every
      zero-fee transaction, the recipient of a zero-value transfer to an empty address), so this is common;
    - the account trie and every account's storage trie read nodes through the decoded nodes kept by hash
      (:mod:`node.trie_nodes`), not by decoding each node's RLP on every read.
    """

    def __init__(self, db: AtomicDatabaseAPI, state_root: Hash32 = BLANK_ROOT_HASH) -> None:
        super().__init__(db, state_root)
        # py-evm's account-trie layers, rebuilt on the kept-nodes trie
        self._trie = HashTrie(cast(DatabaseAPI, NodeHexaryTrie(self._batchtrie, state_root, prune=True)))
        self._trie_logger = KeyAccessLoggerDB(self._trie, log_missing_keys=False)
        self._trie_cache = CacheDB(self._trie_logger)
        self._journaltrie = JournalDB(self._trie_cache)

    def _get_address_store(self, address: Address) -> AccountStorageDatabaseAPI:
        store = self._account_stores.get(address)
        if store is None:
            store = NodeAccountStorageDB(self._raw_store_db, self._get_storage_root(address), address)
            self._account_stores[address] = store
        return store

    def _set_account(self, address: Address, account: Account) -> None:
        self._account_cache[address] = account
        self._journaltrie[address] = encode_account(account)

    def set_balance(self, address: Address, balance: int) -> None:
        validate_canonical_address(address, title="Storage Address")
        validate_uint256(balance, title="Account Balance")
        account = self._get_account(address)
        self._set_account(address, Account(account.nonce, balance, account.storage_root, account.code_hash))

    def set_nonce(self, address: Address, nonce: int) -> None:
        validate_canonical_address(address, title="Storage Address")
        validate_uint64(nonce, title="Nonce")
        account = self._get_account(address)
        self._set_account(address, Account(nonce, account.balance, account.storage_root, account.code_hash))

    def delete_account(self, address: Address) -> None:
        if address in self._account_stores or self._get_account(address).storage_root != BLANK_ROOT_HASH:
            super().delete_account(address)
            return
        validate_canonical_address(address, title="Storage Address")
        if address in self._account_cache:
            del self._account_cache[address]
        del self._journaltrie[address]


class NodeState(PragueState):
    """Prague state whose logger is looked up once (py-evm builds it on every access, four times a transaction),
    on :class:`NodeAccountDB`, with the cheaper paths of :mod:`node.evm_paths`."""

    account_db_class = NodeAccountDB
    computation_class = NodeComputation
    transaction_executor_class = NodeTransactionExecutor

    @property
    def logger(self) -> ExtendedDebugLogger:
        return _STATE_LOGGER


def open_state(
    db: StateDB, header: QbftHeader, state_root: bytes, prev_hashes: Iterable[bytes], chain_id: int
) -> PragueState:
    """A state at ``state_root``, executing in the block environment of ``header``."""
    return NodeState(db, execution_context(header, prev_hashes, chain_id), cast(Hash32, state_root))


def child_header(parent: QbftHeader, timestamp: int, coinbase: bytes, extra_data: bytes) -> QbftHeader:
    """The template of the next block: zero base fee, no blobs, QBFT mix hash."""
    return QbftHeader(
        difficulty=1,
        block_number=BlockNumber(parent.block_number + 1),
        gas_limit=parent.gas_limit,
        timestamp=timestamp,
        coinbase=cast(Address, coinbase),
        parent_hash=parent.hash,
        extra_data=extra_data,
        mix_hash=Hash32(QBFT_MIX_HASH),
        nonce=b"\x00" * 8,
        base_fee_per_gas=0,
        withdrawals_root=BLANK_ROOT_HASH,
        blob_gas_used=0,
        excess_blob_gas=0,
        parent_beacon_block_root=ZERO_HASH32,
        requests_hash=Hash32(EMPTY_SHA256),
    )


def block_preprocessing(state: PragueState, header: QbftHeader) -> None:
    """EIP-4788 / EIP-2935 system-contract updates, as py-evm's Prague VM does them (only if deployed)."""
    if state.get_code(BEACON_ROOTS_ADDRESS) == BEACON_ROOTS_CONTRACT_CODE:
        state.set_storage(BEACON_ROOTS_ADDRESS, header.timestamp % HISTORY_BUFFER_LENGTH, header.timestamp)
        state.set_storage(
            BEACON_ROOTS_ADDRESS,
            header.timestamp % HISTORY_BUFFER_LENGTH + HISTORY_BUFFER_LENGTH,
            int.from_bytes(header.parent_beacon_block_root or ZERO_HASH32, "big"),
        )
    if state.get_code(HISTORY_STORAGE_ADDRESS) == HISTORY_STORAGE_CONTRACT_CODE:
        state.set_storage(
            HISTORY_STORAGE_ADDRESS,
            (header.block_number - 1) % HISTORY_SERVE_WINDOW,
            int.from_bytes(header.parent_hash, "big"),
        )


@dataclass
class BuiltBlock:
    header: QbftHeader
    transactions: list[SignedTransactionAPI] = field(default_factory=list)
    receipts: list[ReceiptAPI] = field(default_factory=list)
    # the receipts' RLP, made once for the receipt root and reused by the store
    encoded_receipts: list[bytes] = field(default_factory=list)
    # transactions that can never be included (invalid nonce, funds, refused sender), with the reason
    dropped: list[tuple[SignedTransactionAPI, str]] = field(default_factory=list)
    # transactions left for a later block (did not fit the gas left)
    deferred: list[SignedTransactionAPI] = field(default_factory=list)


SenderCheck = Callable[[PragueState, SignedTransactionAPI], bool]


def _sender_of(tx: SignedTransactionAPI) -> bytes:
    try:
        return bytes(tx.sender)
    except Exception:  # an unrecoverable signature: no sender to order by; validation drops it
        return b""


def apply_transactions(
    state: PragueState,
    template: QbftHeader,
    transactions: Sequence[SignedTransactionAPI],
    allowed: SenderCheck,
    budget: BuildBudget | None = None,
) -> BuiltBlock:
    """Apply as many of ``transactions`` as fit the gas limit; the header gets gas used, bloom and roots.

    A block is always produced: a transaction that fails validation (nonce, funds, intrinsic gas) or execution
    setup is reverted and dropped, and the build goes on with the rest. The checkpoint is taken after
    ``lock_changes`` (which flattens py-evm's journals): taken before, it no longer existed when a failed
    transaction was reverted, and one member's overspending pair of transactions halted block production.
    Once a sender's transaction is deferred (it did not fit), its later ones are deferred too: they would fail on
    their nonce and be dropped. After a dropped one they are tried, and fail cheaply in validation if they must.
    With ``budget`` (block building only, never import) the remaining transactions are deferred once it is spent
    (after at least one is included): they stay in the pool.
    """
    built = BuiltBlock(template)
    gas_used = 0
    bloom = BloomFilter()
    block_preprocessing(state, template)
    gas_limit = template.gas_limit
    blocked: set[bytes] = set()  # senders whose earlier transaction was deferred
    for tx in transactions:
        sender = _sender_of(tx)
        late = budget is not None and built.transactions and budget.spent()
        if sender in blocked or late:
            built.deferred.append(tx)
            continue
        if tx.gas > gas_limit - gas_used:
            built.deferred.append(tx)
            blocked.add(sender)
            continue
        reason = intrinsic_gas_error(tx)
        if reason is not None:
            built.dropped.append((tx, reason))
            continue
        if not allowed(state, tx):
            built.dropped.append((tx, "sender account not authorized"))
            continue
        state.lock_changes()
        snapshot = state.snapshot()
        try:
            computation = state.apply_transaction(tx)
        except ValidationErrors as exc:
            state.revert(snapshot)
            built.dropped.append((tx, str(exc)))
            continue
        except Exception as exc:  # a py-evm failure outside validation: the transaction, never the block
            logger.exception("tx 0x%s failed to execute", tx.hash.hex())
            state.revert(snapshot)
            built.dropped.append((tx, f"execution failed: {type(exc).__name__}"))
            continue
        receipt = PragueVM.make_receipt(cast(Any, SimpleNamespace(gas_used=gas_used)), tx, computation, state)
        gas_used = receipt.gas_used
        bloom |= receipt.bloom
        built.transactions.append(tx)
        built.receipts.append(receipt)
    state.lock_changes()
    tx_root = Hash32(ordered_trie_root([tx.encode() for tx in built.transactions]))
    built.encoded_receipts = [encode_receipt(r) for r in built.receipts]
    receipt_root = Hash32(ordered_trie_root(built.encoded_receipts))
    state.persist()
    built.header = copy_header(
        template,
        gas_used=gas_used,
        bloom=int(bloom),
        transaction_root=tx_root,
        receipt_root=receipt_root,
        state_root=state.state_root,
    )
    return built


# --- calls -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallParams:
    sender: bytes
    to: bytes | None
    gas: int
    value: int
    data: bytes
    access_list: tuple[tuple[bytes, tuple[int, ...]], ...] = ()


def spoof_transaction(state: PragueState, params: CallParams, gas: int) -> SignedTransactionAPI:
    # a call runs at the sender's current nonce whatever its call object says (geth skips nonce checks for calls):
    # viem passes the nonce it manages, which is ahead of the state's while its transactions are pending
    nonce = state.get_nonce(cast(Address, params.sender))
    unsigned = UnsignedDynamicFeeTransaction(
        chain_id=state.execution_context.chain_id,
        nonce=nonce,
        max_priority_fee_per_gas=0,
        max_fee_per_gas=0,
        gas=gas,
        to=params.to or b"",
        value=params.value,
        data=params.data,
        access_list=[(a, list(s)) for a, s in params.access_list],
    )
    return cast(SignedTransactionAPI, SpoofTransaction(unsigned, from_=params.sender))


def run_call(state: PragueState, params: CallParams, gas: int | None = None) -> ComputationAPI:
    """Execute a call as a transaction (intrinsic gas, value transfer) on ``state``; the caller discards it."""
    tx = spoof_transaction(state, params, params.gas if gas is None else gas)
    need = intrinsic_gas(params.data, params.to is None, params.access_list)
    if tx.gas < need.gas:
        raise ServerError(f"intrinsic gas too low: have {tx.gas}, want {need.gas}")
    if tx.gas < need.floor:
        raise ServerError(f"insufficient gas for floor data gas cost: gas {tx.gas}, minimum needed {need.floor}")
    try:
        state.lock_changes()
        return state.apply_transaction(tx)
    except ValidationErrors as exc:
        raise ServerError(_geth_wording(str(exc))) from exc


_NONCE_MISMATCH = re.compile(r"nonce: expected (\d+), but got (\d+)")


def _geth_wording(message: str) -> str:
    lowered = message.lower()
    if "intrinsic" in lowered or "insufficient gas" in lowered:  # py-evm's words for an intrinsic-gas shortfall
        return "intrinsic gas too low"
    if any(words in lowered for words in ("insufficient funds", "cannot afford", "enough balance", "sender balance")):
        return "insufficient funds for gas * price + value"
    nonces = _NONCE_MISMATCH.search(lowered)
    if nonces is not None:  # say which way it is wrong, with both numbers
        expected, got = int(nonces.group(1)), int(nonces.group(2))
        return f"nonce too {'high' if got > expected else 'low'}: state {expected}, tx {got}"
    return message


def raise_if_reverted(computation: ComputationAPI) -> None:
    if not computation.is_error:
        return
    from eth.exceptions import Revert

    error = computation.error
    if isinstance(error, Revert):
        data = bytes(computation.output)
        raise ExecutionReverted(data, decode_revert_reason(data))
    raise ServerError(_vm_error_message(computation))


def _vm_error_message(computation: ComputationAPI) -> str:
    from eth.exceptions import OutOfGas

    error = computation.error
    if isinstance(error, OutOfGas):
        return "out of gas"
    name = type(error).__name__
    return (
        {"InvalidInstruction": "invalid opcode", "StackDepthLimit": "max call depth exceeded"}.get(
            name, f"execution error: {name}"
        )
        if str(error) == ""
        else str(error)
    )


def decode_revert_reason(data: bytes) -> str | None:
    """``Error(string)`` and ``Panic(uint256)`` payloads as geth prints them."""
    if data[:4] == bytes.fromhex("08c379a0") and len(data) >= 68:
        try:
            length = int.from_bytes(data[36:68], "big")
            return data[68 : 68 + length].decode("utf-8", errors="replace")
        except ValueError:
            return None
    if data[:4] == bytes.fromhex("4e487b71") and len(data) >= 36:
        return f"panic: 0x{int.from_bytes(data[4:36], 'big'):x}"
    return None


ESTIMATE_ERROR_RATIO = 0.015


def estimate_gas(
    state_factory: Callable[[], PragueState], params: CallParams, cap: int, error_ratio: float = ESTIMATE_ERROR_RATIO
) -> int:
    """The least gas with which the call succeeds, by binary search like geth (each trial on a fresh state).

    The search starts at the intrinsic gas (:mod:`node.intrinsic`: calldata, creation, access list, EIP-7623 floor),
    so a transaction sent with the estimate passes the pool. A value transfer to an account without code costs
    exactly its intrinsic gas (25,300 with one address and one key in its access list). Like geth, the search stops
    once the bracket is within ``error_ratio`` of its upper end: a contract call's answer may exceed the exact
    minimum by up to 1.5%, for three or four executions instead of fifteen.
    """
    minimum = intrinsic_gas(params.data, params.to is None, params.access_list).minimum
    if cap < minimum:
        raise ServerError(f"gas required exceeds allowance ({cap}): intrinsic gas is {minimum}")
    state = state_factory()
    if params.to is not None and not state.get_code(cast(Address, params.to)):
        computation = run_call(state, params, minimum)  # raises on a lack of funds
        if not computation.is_error:
            return minimum
        state = state_factory()
    computation = run_call(state, params, cap)
    if computation.is_error:
        raise_if_reverted(computation)
    used = cap - computation.get_gas_remaining()
    lo, hi = max(used, minimum) - 1, cap
    optimistic = min((used + computation.get_gas_refund() + 2300) * 64 // 63, cap)

    def ok(gas: int) -> bool:
        try:
            return not run_call(state_factory(), params, gas).is_error
        except ServerError:
            return False

    if optimistic < hi and ok(optimistic):
        hi = optimistic
    while lo + 1 < hi and (hi - lo) / hi >= error_ratio:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def accessed(state: PragueState) -> dict[bytes, set[int]]:
    """Addresses and storage slots touched in the last call (from py-evm's warm-access journal)."""
    journal_db = state._account_db._journal_accessed_state  # type: ignore[attr-defined]
    keys: list[bytes] = list(journal_db._journal._current_values.keys())
    keys += list(getattr(journal_db._wrapped_db, "kv_store", {}).keys())
    out: dict[bytes, set[int]] = {}
    for raw in keys:
        key = bytes(raw)
        if len(key) == 20:
            out.setdefault(key, set())
        elif len(key) > 20:
            out.setdefault(key[:20], set()).add(int.from_bytes(key[20:], "big"))
    return out


def validate_call_gas(gas: int, cap: int) -> None:
    if gas <= 0:
        raise InvalidParams("gas must be positive")
    if gas > cap:
        raise InvalidParams(f"gas {gas} exceeds the node's call gas cap {cap}")
