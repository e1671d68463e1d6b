"""Cheaper paths through py-evm's per-transaction work, same results (used by :class:`node.execution.NodeState`).

Measured on the ERC-20 transfer workload of ``scripts/bench_node.py`` (sampling profile of a block build), two
costs of stock py-evm that depend on nothing the block computes:

- **Jump-destination analysis, redone every message.** py-evm decides lazily whether a JUMP target is an opcode
  and not PUSH data, and keeps what it learnt in its ``CodeStream``, which lives for one message: each call to
  the same contract starts over (about 5% of a build). :class:`NodeCodeStream` keeps those facts per code in a
  small LRU cache shared by every message, at one byte per code byte. Whether a position starts an opcode depends
  on the code alone, so the facts hold for any execution; they are still found py-evm's lazy way (never more
  work than it does per message, so no contract can make the analysis dearer than before).
- **Three calls per opcode to charge its constant gas.** py-evm's loop calls the opcode object, which calls
  ``computation.consume_gas``, which calls the gas meter's, which checks a debug flag; then the opcode's logic.
  :meth:`NodeComputation.apply_computation` is py-evm's loop with the constant gas of a plain opcode
  (``_FastOpcode``: its logic function and gas cost) charged inline against the same gas meter, raising the same
  ``OutOfGas``; other opcodes (calls, creates, those wrapped by a fork) are called as before. An ERC-20 transfer
  runs about 230 opcodes. The per-opcode ``debug2`` trace py-evm can print is not printed.
- **Stack shortcuts made lazily at a price.** The computation's eight ``stack_*`` shortcuts are made on first use
  through the ``cached_property`` package, which asks ``asyncio.iscoroutinefunction`` each time;
  :class:`NodeComputation` sets the same bound methods when it is made.
- **A debug line formatted before the logger is asked.** ``build_evm_message`` builds an f-string with the
  transaction's repr and the hex of the callee's whole code for ``debug2`` on every transaction, logged or not
  (about 6% of a build). :class:`NodeTransactionExecutor` builds the same message without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, cast

from eth._utils.address import generate_contract_address
from eth.abc import ComputationAPI, MessageAPI, OpcodeAPI, SignedTransactionAPI, StateAPI, TransactionContextAPI
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.exceptions import Halt, OutOfGas
from eth.vm.code_stream import CodeStream
from eth.vm.computation import NO_RESULT
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.cancun.transactions import BlobTransaction
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueTransactionExecutor
from eth.vm.logic.invalid import InvalidOpcode
from eth.vm.message import Message
from eth.vm.opcode import _FastOpcode

CODES_KEPT = 256  # distinct codes whose facts are kept: at most 256 x 48 KiB of initcode (12 MiB), mostly far less

_UNKNOWN, _OPCODE, _DATA = 0, 1, 2


@lru_cache(maxsize=CODES_KEPT)
def _facts_of(code: bytes) -> bytearray:
    """Per position of ``code``: unknown yet, starts an opcode, or is PUSH data (filled in as jumps ask)."""
    return bytearray(len(code))


class NodeCodeStream(CodeStream):
    """py-evm's code stream whose jump-destination facts outlive the message (see the module docstring)."""

    __slots__ = ["_facts"]

    def __init__(self, code_bytes: bytes) -> None:
        super().__init__(code_bytes)
        self._facts = _facts_of(code_bytes)

    def is_valid_opcode(self, position: int) -> bool:
        if position >= self._length_cache:
            return False
        known = self._facts[position]
        if known != _UNKNOWN:
            return known == _OPCODE
        # py-evm's own lazy analysis; its recursion on earlier PUSHes comes back here and reads the facts too
        valid = super().is_valid_opcode(position)
        self._facts[position] = _OPCODE if valid else _DATA
        return valid


Plain = tuple[Callable[[Any], Any], int, str]  # a constant-gas opcode's logic, gas cost and mnemonic
# per opcode table (by id; tables are class attributes, never freed) and set of opcodes left to consume_gas
_PLAIN: dict[tuple[int, frozenset[int]], dict[int, Plain]] = {}


def _plain_opcodes(table: Mapping[int, OpcodeAPI], charged_by_method: frozenset[int]) -> dict[int, Plain]:
    """The opcodes of ``table`` that are py-evm's ``_FastOpcode`` exactly (constant gas, then the logic), but for
    ``charged_by_method``."""
    key = (id(table), charged_by_method)
    known = _PLAIN.get(key)
    if known is None:
        known = _PLAIN[key] = {
            code: (fn.logic_fn, fn.gas_cost, fn.mnemonic)
            for code, fn in table.items()
            if type(fn) is _FastOpcode and code not in charged_by_method
        }
    return known


class NodeComputation(PragueComputation):
    """Prague computation on :class:`NodeCodeStream` (child messages too: py-evm creates them through ``cls``), with
    the constant gas of plain opcodes charged inline (see the module docstring)."""

    # plain opcodes a subclass must see charged through ``consume_gas`` (node.rpc.budget: the call's clock at jumps)
    charged_by_method: frozenset[int] = frozenset()

    def __init__(self, state: StateAPI, message: MessageAPI, transaction_context: TransactionContextAPI) -> None:
        super().__init__(state, message, transaction_context)
        self.code = NodeCodeStream(message.code)
        # py-evm's stack shortcuts are ``cached_property``s whose first read asks ``asyncio.iscoroutinefunction``
        # (eight per message, microseconds each); the same bound methods, set up front
        stack = self._stack
        vars(self).update(
            stack_pop_ints=stack.pop_ints,
            stack_pop_bytes=stack.pop_bytes,
            stack_pop_any=stack.pop_any,
            stack_pop1_int=stack.pop1_int,
            stack_pop1_bytes=stack.pop1_bytes,
            stack_pop1_any=stack.pop1_any,
            stack_push_int=stack.push_int,
            stack_push_bytes=stack.push_bytes,
        )

    @classmethod
    def apply_computation(
        cls,
        state: StateAPI,
        message: MessageAPI,
        transaction_context: TransactionContextAPI,
        parent_computation: ComputationAPI | None = None,
    ) -> ComputationAPI:
        # py-evm's BaseComputation.apply_computation, line for line, but for the loop's gas charging
        with cls(state, message, transaction_context) as computation:
            if computation.is_origin_computation:
                computation.contracts_created = []
                if message.is_create:
                    cls.consume_initcode_gas_cost(computation)
            if parent_computation is not None:
                computation.contracts_created = parent_computation.contracts_created
            if message.is_create:
                computation.contracts_created.append(message.storage_address)
            precompile = computation.precompiles.get(message.code_address, NO_RESULT)
            if precompile is not NO_RESULT:
                if not message.is_delegation:
                    precompile(computation)
                return computation

            opcode_lookup = computation.opcodes
            plain = _plain_opcodes(opcode_lookup, cls.charged_by_method)
            meter = computation._gas_meter
            for opcode in computation.code:
                known = plain.get(opcode)
                try:
                    if known is not None:
                        logic, cost, mnemonic = known
                        if cost > meter.gas_remaining:
                            raise OutOfGas(
                                f"Out of gas: Needed {cost} - Remaining {meter.gas_remaining} - Reason: {mnemonic}"
                            )
                        meter.gas_remaining -= cost
                        logic(computation)
                    else:
                        opcode_fn = opcode_lookup.get(opcode)
                        if opcode_fn is None:
                            opcode_fn = InvalidOpcode(opcode)
                        opcode_fn(computation=computation)
                except Halt:
                    break
        return computation


class NodeTransactionExecutor(PragueTransactionExecutor):
    """Prague's transaction executor whose message is built without the eagerly formatted debug line."""

    def build_evm_message(self, transaction: SignedTransactionAPI) -> MessageAPI:
        state = self.vm_state
        # the sender pays for all the gas up front (and for its blobs, though the pool refuses blob transactions)
        fee = transaction.gas * state.get_gas_price(transaction)
        if transaction.type_id == BLOB_TX_TYPE:
            fee += self.calc_data_fee(cast(BlobTransaction, transaction))
        state.delta_balance(transaction.sender, -fee)
        state.increment_nonce(transaction.sender)
        refund = self.calc_message_refund(transaction)  # EIP-7702 authorizations (type 4) are processed here
        if transaction.to == CREATE_CONTRACT_ADDRESS:
            created = generate_contract_address(transaction.sender, state.get_nonce(transaction.sender) - 1)
            return Message(
                gas=transaction.gas - transaction.intrinsic_gas,
                to=transaction.to,
                sender=transaction.sender,
                value=transaction.value,
                data=b"",
                code=transaction.data,
                create_address=created,
                refund=refund,
                is_delegation=False,
            )
        code, delegation = self.get_code_at_address(transaction.to)
        return Message(
            gas=transaction.gas - transaction.intrinsic_gas,
            to=transaction.to,
            sender=transaction.sender,
            value=transaction.value,
            data=transaction.data,
            code=code,
            refund=refund,
            is_delegation=delegation is not None,
        )
