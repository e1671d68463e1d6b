"""A price posting is bounded by the move from the previous price: the gateway's last posting, else the oracle's.
When the oracle cannot be read because the node is out of reach, the posting is refused with 503 rather than
accepted with nothing to compare it with (an outage must not lift the guard rail)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from web3 import Web3

from contracts.artifacts import load_artifact
from gateway.chain.connect import connect
from gateway.chain.outage import reachability
from gateway.exceptions import ChainUnavailable
from gateway.operator.prices import _previous
from gateway.trading.models import Instrument
from tests.gateway.test_chain_outage import closed_port

BOND = Instrument(address="0x" + "b0" * 20, kind="bond", symbol="DBR35", name="DBR35", decimals=2)
CASH = Instrument(address="0x" + "c0" * 20, kind="cash", symbol="EURD", name="EURD", decimals=6)


class NoPostings:
    """A session in which the gateway has posted no price for the pair yet."""

    def scalars(self, _query: Any) -> NoPostings:
        return self

    def first(self) -> None:
        return None


@dataclass
class OracleOnly:
    oracle: Any


@dataclass
class HubOf:
    market: OracleOnly


def test_an_oracle_out_of_reach_refuses_the_posting() -> None:
    w3 = connect(f"http://127.0.0.1:{closed_port()}", timeout=2)
    abi = load_artifact("PriceOracle").abi
    oracle = w3.eth.contract(address=Web3.to_checksum_address("0x" + "0a" * 20), abi=abi)
    try:
        with pytest.raises(ChainUnavailable):
            _previous(NoPostings(), HubOf(OracleOnly(oracle)), BOND, CASH)  # type: ignore[arg-type]
    finally:
        reachability.answered()
