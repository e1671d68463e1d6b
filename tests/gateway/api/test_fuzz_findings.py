"""What fuzzing answered with 500, each now a 4xx problem that says what is wrong: listing an address that is not
a token, a repo id beyond the database's integer range, a SIWE signature that is not whole bytes of hex."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import select

from gateway.db.models import Role
from gateway.settlement.market import Market
from gateway.trading.models import Instrument
from tests.gateway.conftest import World
from tests.gateway.fakechain import FakeNode, fake_web3
from tests.gateway.market import ENGINE, call, hub_of, market_world, step_up

NOT_A_TOKEN = "0x" + "5e" * 20


class NodeWithoutCode(FakeNode):
    """A node where no address has code: a call answers empty, as a real node does for an account."""

    def _answer(self, method: str, params: Any) -> dict[str, Any]:
        if method in ("eth_call", "eth_getCode"):
            return {"result": "0x"}
        return super()._answer(method, params)


@pytest.fixture
def world(tmp_path: Path, db_url: str) -> Iterator[World]:
    for w in market_world(tmp_path, db_url):
        hub_of(w).market = Market(
            fake_web3(NodeWithoutCode()), engine=ENGINE, oracle="0x" + "0a" * 20, relayer=Account.create()
        )
        yield w


def test_listing_an_address_that_is_not_a_token_is_422_and_lists_nothing(world: World) -> None:
    admin = world.user("op", Role.OPERATOR_ADMIN, "admin")
    step_up(admin)
    response = call(admin, "/v1/operator/instruments", {"address": NOT_A_TOKEN, "kind": "bond"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/not-a-token") and "is not an ERC-20 token" in problem["detail"]
    with world.ctx.sessions() as session:
        assert list(session.scalars(select(Instrument))) == []


@pytest.mark.parametrize("path", ["default", "substitutions", "margin-call", "reconcile"])
def test_a_repo_id_beyond_the_databases_integers_is_a_validation_problem(world: World, path: str) -> None:
    trader = world.user("a", Role.TRADER, "at")
    body = {"new_collateral_token": NOT_A_TOKEN, "new_collateral_amount": "1"} if path == "substitutions" else None
    for repo_id in (2**63, 2**64 + 5, -1):
        response = call(trader, f"/v1/repos/{repo_id}/{path}", body)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["path", "repo_id"]
    assert trader.get(f"/v1/repos/{2**63}").status_code == 422
    largest = call(trader, f"/v1/repos/{2**63 - 1}/{path}", body)
    assert largest.status_code == 404, largest.text  # in range: no such repo


def test_a_siwe_signature_of_odd_length_is_a_validation_problem(world: World) -> None:
    trader = world.user("a", Role.MEMBER_ADMIN, "adm")
    address = Account.create().address
    challenge = call(trader, "/v1/wallets/siwe/challenge", {"address": address, "label": "cold"})
    assert challenge.status_code == 201, challenge.text
    step_up(trader)
    for signature in ("0x" + "ab" * 65 + "c", "0x" + "ab" * 66 + "c"):
        response = call(
            trader, "/v1/wallets/siwe/verify", {"message": challenge.json()["message"], "signature": signature}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["body", "signature"]
