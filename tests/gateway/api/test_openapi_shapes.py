"""The OpenAPI document as a client generator meets it: no untyped object anywhere, one list shape
(``{data, next_cursor}``), every /v1 operation declaring the problem answers the shared layers give; and the
answers themselves: a cursor walks a list newest first without repeats, a problem names its stable ``code``."""

from __future__ import annotations

from typing import Any

import pytest

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
