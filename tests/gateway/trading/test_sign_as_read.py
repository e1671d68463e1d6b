"""A custodial signature asked with the digest of the terms the person read (the web app always sends it) is made
only for those terms: other terms by now (a retry's fresh ones) answer 409 ``terms-changed`` and nothing is signed
or consented to. Without a digest the API signs the trade's terms as before (every other signing test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.custody.models import Consent
from gateway.db.models import Role
from tests.gateway.conftest import World
from tests.gateway.market import BOND, CASH, approve_member, call, custodial_wallet, list_instrument, market_world


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        list_instrument(w, CASH, "cash", 6, "EURD")
        list_instrument(w, BOND, "bond", 2, "DBR35")
        yield w


def test_a_signature_asked_for_other_terms_is_refused_and_the_read_terms_are_signed(world: World) -> None:
    a, b = world.user("a", Role.TRADER, "at"), world.user("b", Role.TRADER, "bt")
    wa, wb = custodial_wallet(a), custodial_wallet(b)
    approve_member(world, "a")
    approve_member(world, "b")
    terms = {
        "role": "seller",
        "wallet_id": wa["id"],
        "counterparty_wallet": wb["address"],
        "cash_token": CASH,
        "collateral_token": BOND,
        "purchase_price": "1000",
        "collateral_amount": "1100",
        "rate": "0.03",
        "haircut_bps": 200,
        "tenor_seconds": 86_400,
    }
    direct = call(a, "/v1/trades", terms)
    assert direct.status_code == 201, direct.text
    trade, digest = direct.json()["id"], direct.json()["digest"]

    other = "0x" + ("00" if digest[2:4] != "00" else "11") * 32
    refused = call(b, f"/v1/trades/{trade}/sign", {"digest": other})
    assert refused.status_code == 409 and refused.json()["type"].endswith("/terms-changed"), refused.text
    assert not b.get(f"/v1/trades/{trade}").json()["buyer"]["signed"]
    with world.ctx.sessions() as session:
        assert session.scalars(select(Consent)).all() == []  # refused before any consent or signature

    malformed = call(b, f"/v1/trades/{trade}/sign", {"digest": "0x12"})
    assert malformed.status_code == 422, malformed.text

    signed = call(b, f"/v1/trades/{trade}/sign", {"digest": digest.upper().replace("0X", "0x")})
    assert signed.status_code == 200, signed.text
    assert signed.json()["trade"]["buyer"]["signed"] and signed.json()["trade"]["digest"] == digest
