"""eth_call and eth_estimateGas ignore the call object's nonce, as geth does: viem passes the nonce its nonce manager
holds, ahead of the state's while its transactions are pending, and 19 of 20 quick sends used to fail with
"nonce too low" (which it was not) before being sent."""

from __future__ import annotations

import pytest

from scripts.harness.node_process import DEV_KEYS, NodeProcess, RpcFailure, address_of

SENDER = address_of(DEV_KEYS[2])
RECIPIENT = "0x" + "cd" * 20


@pytest.mark.parametrize("ahead", [1, 19, 1000])
def test_a_nonce_ahead_of_the_state_is_no_error(dev_node: NodeProcess, ahead: int) -> None:
    nonce = int(dev_node.call("eth_getTransactionCount", SENDER, "latest"), 16) + ahead
    call = {"from": SENDER, "to": RECIPIENT, "value": "0x1", "nonce": hex(nonce)}
    assert dev_node.call("eth_estimateGas", call) == "0x5208"
    assert dev_node.call("eth_call", call) == "0x"
    assert dev_node.call("eth_call", call, "pending") == "0x"


def test_a_nonce_behind_the_state_is_no_error_either(dev_node: NodeProcess) -> None:
    call = {"from": SENDER, "to": RECIPIENT, "nonce": "0x0"}
    assert dev_node.call("eth_estimateGas", call) == "0x5208"


def test_errors_name_what_is_wrong(dev_node: NodeProcess) -> None:
    poor = "0x" + "77" * 20
    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_estimateGas", {"from": poor, "to": RECIPIENT, "value": "0x1", "nonce": "0x9"})
    assert failure.value.error["message"] == "insufficient funds for gas * price + value"
    with pytest.raises(RpcFailure) as failure:
        dev_node.call("eth_estimateGas", {"from": SENDER, "to": RECIPIENT, "gas": "0x5000"})
    assert "gas required exceeds allowance (20480)" in failure.value.error["message"]
