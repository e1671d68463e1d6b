"""Typed data as a browser wallet reads it: ``JSON.parse`` turns numbers into doubles, so every integer of the
EIP-712 message comes as a decimal string and the digest of the parsed document is the digest the gateway
states (for a trade's terms and for an instruction)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

from gateway.db.models import Role, Wallet
from gateway.settlement_records.models import Instruction, RepoRecord
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, custodial_wallet, list_instrument, market_world
from tests.gateway.trading.test_trading_policy import agreed_trade

BIG = 2**53


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def as_a_browser_parses(text: str) -> Any:
    """JSON.parse: every number is an IEEE double."""
    return json.loads(text, parse_int=lambda s: int(float(s)))


def digest_of(document: dict[str, Any]) -> str:
    signable = encode_typed_data(full_message=document)
    return "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()


def test_trade_typed_data_survives_json_parse(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    trade, _ = agreed_trade(world, a, b)
    response = a.get(f"/v1/trades/{trade['id']}/typed-data")
    assert response.status_code == 200, response.text
    doc = as_a_browser_parses(response.text)
    message = doc["typed_data"]["message"]
    assert int(message["nonce"]) > BIG  # too big for a double
    integer_fields = [f["name"] for f in doc["typed_data"]["types"]["RepoTerms"] if "int" in f["type"]]
    assert all(isinstance(message[name], str) for name in integer_fields)
    assert message["nonce"] == trade["terms"]["nonce"]
    assert digest_of(doc["typed_data"]) == doc["digest"] == trade["digest"]


def test_instruction_typed_data_survives_json_parse(world: World) -> None:
    a = world.user("a", Role.TRADER, "at")
    wallet = custodial_wallet(a)
    nonce = str(3 * 10**38 + 12345)
    with world.ctx.sessions.begin() as session:
        seller = session.get(Wallet, uuid.UUID(wallet["id"]))
        assert seller is not None
        session.add(
            RepoRecord(
                repo_id=7, seller=seller.address, buyer="0x" + "0d" * 20, holder="0x" + "0d" * 20,
                seller_org_id=world.orgs["a"], holder_org_id=world.orgs["b"], cash_token=CASH,
                collateral_token=BOND, collateral_amount="120", purchase_price="100", rate="0",
                day_count_basis=360, haircut_bps=0, status="open", opened_at=0, maturity=0, period_start=0,
            )
        )  # fmt: skip
        row = Instruction(
            repo_id=7,
            kind="Amendment",
            message={"repoId": "7", "kind": "1", "newMaturity": "0", "newRate": str(4 * 10**16), "nonce": nonce,
                     "deadline": "4102444800"},
            signatures={},
            required=[seller.address.lower()],
            created_by="test",
        )  # fmt: skip
        session.add(row)
        session.flush()
        instruction_id = row.id
    response = a.get(f"/v1/instructions/{instruction_id}")
    assert response.status_code == 200, response.text
    doc = as_a_browser_parses(response.text)
    assert doc["typed_data"]["message"]["nonce"] == nonce and doc["typed_data"]["message"]["newRate"] == str(4 * 10**16)
    assert digest_of(doc["typed_data"]) == doc["digest"]
