"""A costly precompile cannot outrun a call's wall-clock budget (node.rpc.budget).

Before, the clock was read only every 1,024 gas charges, and a precompile makes one charge for all its work, so an
``eth_call`` of BLAKE2F with tens of millions of rounds ran to its end whatever ``--rpc-evm-timeout`` said. Now a
precompile whose gas says it would end past the deadline is refused before it starts, with the budget error.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.harness.node_process import DEV_KEYS, NodeProcess, RpcFailure, address_of, start_node

BLAKE2F = "0x" + "00" * 19 + "09"


def blake2f_input(rounds: int) -> str:
    return "0x" + (rounds.to_bytes(4, "big") + b"\x00" * (64 + 128 + 16) + b"\x01").hex()


@pytest.fixture(scope="module")
def budget_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    node = start_node(tmp_path_factory.mktemp("precompile") / "data", "--rpc-evm-timeout", "1")
    yield node
    node.stop()


def call(node: NodeProcess, rounds: int) -> str:
    request = {"from": address_of(DEV_KEYS[0]), "to": BLAKE2F, "gas": hex(45_000_000), "data": blake2f_input(rounds)}
    return str(node.call("eth_call", request, "latest"))


def test_a_precompile_over_the_call_budget_answers_the_budget_error(budget_node: NodeProcess) -> None:
    with pytest.raises(RpcFailure) as failure:
        call(budget_node, 40_000_000)
    assert failure.value.error == {"code": -32005, "message": "execution aborted (timeout = 1s)"}


def test_a_precompile_within_the_budget_answers(budget_node: NodeProcess) -> None:
    assert len(call(budget_node, 12)) == 2 + 128  # 64 bytes of state
