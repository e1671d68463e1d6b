"""Per-object authorization: B's credentials on A's objects, for every route with a path parameter.

The matrix is generated from the app's OpenAPI route table, so a new route with an object id is covered
(or fails here until a fixture object is named for its parameter). Other domains name theirs in a module
``tests/gateway/<domain>/authz_objects.py`` with ``OBJECTS = {"rfq_id": factory}`` (``factory(world, cast,
objects) -> id`` creates an object of organization A) and optionally ``BODIES = {("post", path): body}``.
"""

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.db.models import Role
from tests.gateway.conftest import Cast, Member, World, application_body

PARAM = re.compile(r"\{(\w+)\}")

# Minimal valid bodies, so that a 404/403 can only come from authorization and not from validation.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/organizations/{org_id}/users"): {
        "email": "intruder@b.example",
        "full_name": "I",
        "role": "viewer",
        "password": "p" * 16,
    },
    ("post", "/v1/organizations/{org_id}/kyc/revoke"): {"reason": "x"},
    ("post", "/v1/organizations/{org_id}/kyc/freeze"): {"reason": "x"},
    ("post", "/v1/organizations/{org_id}/kyc/unfreeze"): {"reason": "x"},
    ("post", "/v1/kyc/applications/{application_id}/hits/{hit_id}/decision"): {"decision": "false_positive"},
    ("post", "/v1/kyc/applications/{application_id}/decision"): {"approve": True},
}


Factory = Callable[[World, Cast, dict[str, str]], str]


def _plugins() -> tuple[dict[str, Factory], dict[tuple[str, str], dict[str, Any]]]:
    """Object factories and bodies contributed by other domains' ``authz_objects.py`` modules."""
    factories: dict[str, Factory] = {}
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.glob("*/authz_objects.py")):
        module = importlib.import_module(f"tests.gateway.{path.parent.name}.authz_objects")
        factories.update(getattr(module, "OBJECTS", {}))
        bodies.update(getattr(module, "BODIES", {}))
    return factories, bodies


@pytest.fixture
def a_objects(world: World, cast: Cast) -> dict[str, str]:
    """One object of organization A for every kind of path parameter."""
    wallet = cast.a_approver.post("/v1/wallets", json={"label": "a-desk"}).json()
    body = application_body(
        world, "a", beneficial_owners=[{"name": "Ivan Badactor", "ownership_percent": 40, "nationality": "GB"}]
    )
    application = cast.a_approver.post("/v1/kyc/applications", json=body).json()
    assert application["hits"], "the fixture application needs a screening hit"
    client = cast.a_approver.post(
        "/v1/clients", json={"kind": "api_key", "name": "a-key", "scopes": ["wallets:read"]}
    ).json()
    objects = {
        "org_id": str(world.orgs["a"]),
        "wallet_id": wallet["id"],
        "application_id": application["id"],
        "hit_id": application["hits"][0]["id"],
        "client_id": client["id"],
        "user_id": str(cast.a_viewer.id),
    }
    factories, _ = _plugins()
    for name, factory in factories.items():
        objects.setdefault(name, factory(world, cast, objects))
    return objects


def _routes(world: World) -> list[tuple[str, str]]:
    schema = world.client.get("/openapi.json").json()
    return [(method, path) for path, item in schema["paths"].items() for method in item if PARAM.search(path)]


def _b_credentials(world: World, cast: Cast) -> dict[str, dict[str, str]]:
    key = cast.b_approver.post(
        "/v1/clients",
        json={"kind": "api_key", "name": "b-key", "scopes": ["orgs:read", "kyc:read", "kyc:submit", "wallets:read"]},
    ).json()
    creds = {name: getattr(cast, name).headers for name in ("b_approver", "b_trader", "b_viewer")}
    creds["b_api_key"] = {"X-API-Key": key["secret"]}
    return creds


def test_cross_organization_matrix(world: World, cast: Cast, a_objects: dict[str, str]) -> None:
    routes = _routes(world)
    assert len(routes) >= 10
    _, plugin_bodies = _plugins()
    failures = []
    for method, template in routes:
        names = PARAM.findall(template)
        missing = [n for n in names if n not in a_objects]
        assert not missing, (
            f"no fixture object for {missing} in {template}: add a factory to OBJECTS in "
            "tests/gateway/<domain>/authz_objects.py (see this module's docstring)"
        )
        path = template.format(**a_objects)
        for who, headers in _b_credentials(world, cast).items():
            body = BODIES.get((method, template), plugin_bodies.get((method, template)))
            response = world.client.request(method.upper(), path, headers=headers, json=body)
            if response.status_code not in (403, 404):
                failures.append(f"{who} {method.upper()} {path}: {response.status_code}")
    assert not failures, "\n".join(failures)
    # And A itself can read its own objects, so the matrix tests authorization, not broken routes.
    assert cast.a_viewer.get(f"/v1/wallets/{a_objects['wallet_id']}").status_code == 200
    assert cast.a_viewer.get(f"/v1/kyc/applications/{a_objects['application_id']}").status_code == 200
    assert cast.a_viewer.get(f"/v1/organizations/{a_objects['org_id']}").status_code == 200


def test_cross_org_reads_are_404_not_403(world: World, cast: Cast, a_objects: dict[str, str]) -> None:
    """Existence is not disclosed: another member's object looks like no object."""
    assert cast.b_viewer.get(f"/v1/wallets/{a_objects['wallet_id']}").status_code == 404
    assert cast.b_viewer.get(f"/v1/organizations/{a_objects['org_id']}").status_code == 404
    assert cast.b_viewer.get(f"/v1/kyc/applications/{a_objects['application_id']}").status_code == 404
    assert cast.b_approver.get(f"/v1/clients/{a_objects['client_id']}").status_code == 404


def test_lists_show_only_own_objects(world: World, cast: Cast, a_objects: dict[str, str]) -> None:
    cast.b_approver.post("/v1/wallets", json={"label": "b-desk"})
    wallets = cast.b_viewer.get("/v1/wallets").json()
    assert wallets["count"] == 1 and all(w["organization_id"] == str(world.orgs["b"]) for w in wallets["data"])
    orgs = cast.b_viewer.get("/v1/organizations").json()
    assert [o["id"] for o in orgs["data"]] == [str(world.orgs["b"])]
    assert cast.b_viewer.get("/v1/kyc/applications").json()["count"] == 0
    assert cast.b_approver.get("/v1/clients").json()["count"] == 0
    # Operator staff see everyone.
    assert cast.officer1.get("/v1/organizations").json()["count"] == 3


def test_member_cannot_apply_for_another_org(world: World, cast: Cast) -> None:
    body = application_body(world, "a", organization_id=str(world.orgs["a"]))
    assert cast.b_approver.post("/v1/kyc/applications", json=body).status_code == 404


def test_server_owned_fields_rejected(world: World, cast: Cast) -> None:
    body = application_body(world, "a", kyc_status="approved")
    response = cast.a_approver.post("/v1/kyc/applications", json=body)
    assert response.status_code == 422
    body = application_body(world, "a", status="approved")
    assert cast.a_approver.post("/v1/kyc/applications", json=body).status_code == 422
    wallet = cast.a_approver.post("/v1/wallets", json={"label": "x", "onchain_whitelisted": True})
    assert wallet.status_code == 422


@pytest.mark.parametrize("role_name", ["a_viewer", "a_trader", "a_approver", "admin"])
def test_only_compliance_officers_decide(world: World, cast: Cast, role_name: str) -> None:
    application = cast.a_approver.post("/v1/kyc/applications", json=application_body(world, "a")).json()
    member: Member = getattr(cast, role_name)
    response = member.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    assert response.status_code in (403, 404)
    assert cast.officer1.get(f"/v1/kyc/applications/{application['id']}").json()["status"] == "pending_review"


def test_four_eyes_submitter_cannot_approve(world: World, cast: Cast) -> None:
    body = application_body(world, "a", organization_id=str(world.orgs["a"]))
    application = cast.officer1.post("/v1/kyc/applications", json=body).json()
    own = cast.officer1.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    assert own.status_code == 409
    assert own.json()["type"].endswith("/four-eyes")
    other = cast.officer2.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
    assert other.status_code == 200
    assert other.json()["decided_by"] == str(cast.officer2.id)


def test_only_operator_admin_creates_users(world: World, cast: Cast) -> None:
    body = {"email": "x@a.example", "full_name": "X", "role": "approver", "password": "p" * 16}
    assert cast.a_approver.post(f"/v1/organizations/{world.orgs['a']}/users", json=body).status_code == 403
    assert cast.admin.post(f"/v1/organizations/{world.orgs['a']}/users", json=body).status_code == 201
    # Operator roles cannot be given to member users.
    body = {**body, "email": "y@a.example", "role": Role.COMPLIANCE_OFFICER.value}
    assert cast.admin.post(f"/v1/organizations/{world.orgs['a']}/users", json=body).status_code == 400
