"""The repo an ``open`` receipt opened is read from the engine's own ``RepoOpened`` log: the same event from
another contract (a token, an impostor) never names the repo."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from gateway.settlement.market import Market

ENGINE = Web3.to_checksum_address("0x" + "e1" * 20)
IMPOSTOR = Web3.to_checksum_address("0x" + "66" * 20)


@pytest.fixture()
def market() -> Market:
    # no node: building the contract objects makes no call
    return Market(Web3(), engine=ENGINE, oracle="0x" + "0c" * 20, relayer=Account.create())


def _log(address: str, topics: list[bytes]) -> dict[str, Any]:
    return {"address": address, "topics": topics, "data": b""}


def test_the_engines_repo_opened_log_names_the_repo(market: Market) -> None:
    opened = Web3.to_bytes(hexstr=market.engine.events.RepoOpened().topic)  # web3's topic of the event, as a reference
    transfer = Web3.keccak(text="Transfer(address,address,uint256)")
    receipt = {
        "logs": [
            _log(IMPOSTOR, [transfer, b"\x00" * 32, b"\x00" * 32]),
            _log(IMPOSTOR, [opened, (666).to_bytes(32, "big")]),  # same event, not from the engine
            _log(ENGINE.lower(), [opened, (42).to_bytes(32, "big"), b"\x01" * 32, b"\x02" * 32]),
        ]
    }
    assert market.opened_repo_id(receipt) == 42


def test_a_receipt_without_it_is_refused(market: Market) -> None:
    opened = Web3.to_bytes(hexstr=market.engine.events.RepoOpened().topic)
    with pytest.raises(LookupError, match="no RepoOpened"):
        market.opened_repo_id({"logs": [_log(IMPOSTOR, [opened, (7).to_bytes(32, "big")])]})
