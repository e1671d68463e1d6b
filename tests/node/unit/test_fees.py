"""What a transaction pays per gas, for the pool and the rules contract: the max fee (and tip) of a dynamic-fee
transaction, the gas price of the others; a zero max fee is read as zero without asking for ``gas_price`` (which
py-evm's dynamic-fee transaction answers with an exception)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from node.permissioning import effective_gas_price
from node.senders import decode_raw
from node.txpool import _fee_pair

KEY = "0x" + "11" * 32


def decoded(**fields: Any) -> Any:
    tx = {"chainId": 1337, "gas": 21_000, "nonce": 0, "to": "0x" + "42" * 20, "value": 0, **fields}
    return decode_raw(bytes(Account.sign_transaction(tx, KEY).raw_transaction))


@pytest.mark.parametrize(
    ("fields", "pair"),
    [
        ({"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}, (0, 0)),
        ({"maxFeePerGas": 7, "maxPriorityFeePerGas": 3}, (7, 3)),
        ({"maxFeePerGas": 7, "maxPriorityFeePerGas": 0}, (7, 0)),
        ({"gasPrice": 0}, (0, 0)),
        ({"gasPrice": 5}, (5, 5)),
        ({"gasPrice": 5, "accessList": []}, (5, 5)),
    ],
)
def test_fee_pair(fields: dict[str, Any], pair: tuple[int, int]) -> None:
    tx = decoded(**fields)
    assert _fee_pair(tx) == pair
    assert effective_gas_price(tx) == pair[0]


def test_dynamic_fee_gas_price_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    tx = decoded(maxFeePerGas=0, maxPriorityFeePerGas=0)
    reads = []

    def gas_price(_self: Any) -> int:
        reads.append(1)
        raise AttributeError("Gas price is no longer available.")

    monkeypatch.setattr(type(tx), "gas_price", property(gas_price))
    assert _fee_pair(tx) == (0, 0)
    assert reads == []
