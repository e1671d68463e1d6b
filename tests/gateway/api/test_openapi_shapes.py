"""The OpenAPI document as a client generator meets it: no untyped object anywhere, one list shape
(``{data, next_cursor}``), every /v1 operation declaring the problem answers the shared layers give; and the
answers themselves: a cursor walks a list newest first without repeats, a problem names its stable ``code``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.addresses import ADDRESS_FORMAT, ADDRESS_PATTERN
from gateway.db.models import Role
from tests.gateway.api import openapi_rules
from tests.gateway.conftest import World


@pytest.fixture
def document(world: World) -> dict[str, Any]:
    response = world.client.get("/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    assert len(list(openapi_rules.operations(doc))) >= 85  # the whole surface, settlement and trading included
    return doc


def test_no_untyped_objects(document: dict[str, Any]) -> None:
    assert openapi_rules.untyped(document) == []


def test_every_list_is_data_and_next_cursor(document: dict[str, Any]) -> None:
    assert openapi_rules.list_shapes(document) == []


def test_every_operation_declares_its_problem_answers(document: dict[str, Any]) -> None:
    assert openapi_rules.undeclared_problems(document) == []
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "code", "title", "status", "detail", "instance"} <= set(problem["required"])


def test_rates_carry_their_unit_in_the_name(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for name in ("TradePublic", "QuotePublic", "PositionPublic", "QuoteCreate", "DirectTradeCreate"):
        props = schemas[name]["properties"]
        assert "rate_fraction" in props and "rate" not in props, name
    assert "new_rate_fraction" in schemas["AmendmentCreate"]["properties"]


def test_a_cursor_walks_a_list_newest_first(world: World) -> None:
    for i in range(4):
        world.user("a", Role.TRADER, f"trader{i}")  # each enrolment writes entries to the audit log
    admin = world.user("op", Role.COMPLIANCE_OFFICER, "walker")
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        page = admin.client.get("/v1/audit/entries", params=params, headers=admin.headers).json()
        assert set(page) == {"data", "next_cursor"}
        seen += [e["sequence"] for e in page["data"]]
        pages += 1
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert pages > 1 and seen == sorted(seen, reverse=True) and len(set(seen)) == len(seen)
    oldest = admin.client.get("/v1/audit/entries", params={"order": "oldest"}, headers=admin.headers).json()
    assert [e["sequence"] for e in oldest["data"]] == sorted(seen)[:50]


def test_a_bad_cursor_is_a_400_problem_with_a_stable_code(world: World) -> None:
    admin = world.user("op", Role.OPERATOR_ADMIN, "cursor")
    response = admin.client.get("/v1/organizations", params={"cursor": "not-a-cursor"}, headers=admin.headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "invalid-cursor" and body["type"].endswith("/invalid-cursor")
    missing = admin.client.get("/v1/nothing-here", headers=admin.headers).json()
    assert missing["code"] == "http-404"


def test_a_cursor_over_creation_times_neither_repeats_nor_skips(world: World) -> None:
    officer = world.user("op", Role.COMPLIANCE_OFFICER, "pager")
    everyone = officer.client.get("/v1/organizations", params={"limit": 200}, headers=officer.headers).json()
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        page = officer.client.get("/v1/organizations", params=params, headers=officer.headers).json()
        ids += [o["id"] for o in page["data"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert ids == [o["id"] for o in everyone["data"]] and len(ids) == len(set(ids)) == 3
    created = [o["created_at"] for o in everyone["data"]]
    assert created == sorted(created, reverse=True)  # newest first


def test_positions_page_with_the_opaque_cursor_newest_first(world: World) -> None:
    """``/v1/positions`` pages like every list: ``{data, next_cursor}`` with an opaque cursor (it took a bare repo
    id), newest first unless ``order=oldest``; a repo id in place of the cursor is 400 ``invalid-cursor``."""
    from gateway.settlement_records.models import RepoRecord

    trader = world.user("a", Role.TRADER, "positions")
    seller = "0x" + "11" * 20
    with world.ctx.sessions.begin() as session:
        for repo_id in range(1, 6):
            session.add(
                RepoRecord(
                    repo_id=repo_id, seller=seller, buyer=seller, holder=seller, seller_org_id=world.orgs["a"],
                    holder_org_id=world.orgs["a"], cash_token="0x" + "c0" * 20, collateral_token="0x" + "b0" * 20,
                    collateral_amount="1", purchase_price="1", rate="0", day_count_basis=360, haircut_bps=0,
                    status="open", opened_at=0, maturity=0, period_start=0,
                )
            )  # fmt: skip
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = trader.client.get("/v1/positions", params=params, headers=trader.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert {"data", "next_cursor"} <= set(body)
        seen += [p["repo_id"] for p in body["data"]]
        if body["next_cursor"] is None:
            break
        assert not body["next_cursor"].isdigit()  # opaque, not the repo id
        params["cursor"] = body["next_cursor"]
    assert seen == [5, 4, 3, 2, 1]
    oldest = trader.client.get("/v1/positions", params={"order": "oldest"}, headers=trader.headers).json()
    assert [p["repo_id"] for p in oldest["data"]] == [1, 2, 3, 4, 5]
    bad = trader.client.get("/v1/positions", params={"cursor": "3"}, headers=trader.headers)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid-cursor"


# fields whose names look like an address but hold something else
NOT_ADDRESSES = {
    ("ApplicationCreate", "registered_address"),  # a postal address
    ("ApplicationPublic", "registered_address"),
    ("InvitationAccept", "token"),  # an invitation's secret
    ("InvitationCreated", "token"),
    ("LeaseRequest", "holder"),  # a service instance's name
    ("LeasePublic", "holder"),
    ("LeasePublic", "token"),  # a lease's fencing number
}
CREDENTIALS = ("access_token", "refresh_token")  # OAuth2's names, not token contracts
ADDRESS_NAME = re.compile(
    r"(^|_)(address|wallet|token|seller|buyer|holder|spender|sender|relayer|asset|quote|instrument|repo_engine|"
    r"price_oracle|identity_registry|audit_anchor)$"
)


def _is_address_schema(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    strings = [o for o in options if o.get("type") != "null"]
    return bool(strings) and all(
        o.get("pattern") == ADDRESS_PATTERN and o.get("format") == ADDRESS_FORMAT for o in strings
    )


def test_every_address_field_is_the_address_type(document: dict[str, Any]) -> None:
    """Requests and answers alike: one ``Address`` (0x and 40 hex digits, EIP-55 in answers) wherever a field holds
    an address, so a client generator maps them to one type. (Answers were bare strings.)"""
    wrong: list[str] = []
    checked = 0
    for name, schema in document["components"]["schemas"].items():
        for field, prop in (schema.get("properties") or {}).items():
            if (
                not ADDRESS_NAME.search(field)
                or (name.removesuffix("-Input").removesuffix("-Output"), field) in NOT_ADDRESSES
            ):
                continue
            if "$ref" in prop or prop.get("type") == "array" or field in CREDENTIALS:
                continue  # a nested model (checked as itself) or a list
            checked += 1
            if not _is_address_schema(prop):
                wrong.append(f"{name}.{field}")
    assert wrong == [] and checked >= 30, (wrong, checked)
    for response, field in (
        ("WalletPublic", "address"),
        ("NetworkPublic", "repo_engine"),
        ("PositionPublic", "seller"),
    ):
        assert _is_address_schema(document["components"]["schemas"][response]["properties"][field])
