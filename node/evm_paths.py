"""Cheaper paths through py-evm's per-transaction work, same results (used by :class:`node.execution.NodeState`).

Measured on the ERC-20 transfer workload of ``scripts/bench_node.py`` (sampling profile of a block build), two
costs of stock py-evm that depend on nothing the block computes:

- **Jump-destination analysis, redone every message.** py-evm decides lazily whether a JUMP target is an opcode
  and not PUSH data, and keeps what it learnt in its ``CodeStream``, which lives for one message: each call to
  the same contract starts over (about 5% of a build). :class:`NodeCodeStream` keeps those facts per code in a
  small LRU cache shared by every message, at one byte per code byte. Whether a position starts an opcode depends
  on the code alone, so the facts hold for any execution; they are still found py-evm's lazy way (never more
  work than it does per message, so no contract can make the analysis dearer than before).
- **A debug line formatted before the logger is asked.** ``build_evm_message`` builds an f-string with the
  transaction's repr and the hex of the callee's whole code for ``debug2`` on every transaction, logged or not
  (about 6% of a build). :class:`NodeTransactionExecutor` builds the same message without it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import cast

from eth._utils.address import generate_contract_address
from eth.abc import MessageAPI, SignedTransactionAPI, StateAPI, TransactionContextAPI
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.vm.code_stream import CodeStream
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.cancun.transactions import BlobTransaction
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueTransactionExecutor
from eth.vm.message import Message

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


class NodeComputation(PragueComputation):
    """Prague computation on :class:`NodeCodeStream` (child messages too: py-evm creates them through ``cls``)."""

    def __init__(self, state: StateAPI, message: MessageAPI, transaction_context: TransactionContextAPI) -> None:
        super().__init__(state, message, transaction_context)
        self.code = NodeCodeStream(message.code)


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
