"""Authorization, generated from the app's route table: every route declares its permission; every route ×
every role × every client scope is refused exactly when the caller lacks it; B's credentials on A's objects, for
every route with a path parameter.

The matrix is generated from the app's OpenAPI route table, so a new route with an object id is covered
(or fails here until a fixture object is named for its parameter). Other domains name theirs in a module
``tests/gateway/<domain>/authz_objects.py`` with ``OBJECTS = {"rfq_id": factory}`` (``factory(world, cast,
objects) -> id`` creates an object of organization A) and optionally ``BODIES = {("post", path): body}``.
"""

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.websockets import WebSocketDisconnect

from gateway.access.permissions import CLIENT_SCOPES, OPERATOR_SCOPES, ROLE_PERMISSIONS, Permission
from gateway.api.deps import Authorize, CurrentPrincipal, Principal, public, require
from gateway.clients import service as clients
from gateway.clients.schemas import ClientCreate
from gateway.db.models import ClientKind, Role
from gateway.events.bus import EventBus
from tests.gateway.conftest import Cast, Member, World, application_body
from tests.gateway.market import hub_of

PARAM = re.compile(r"\{(\w+)\}")

# Minimal valid bodies, so that a 404/403 can only come from authorization and not from validation.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/organizations/{org_id}/invitations"): {
        "email": "intruder@b.example",
        "full_name": "I",
        "role": "viewer",
    },
    ("post", "/v1/organizations/{org_id}/users/{user_id}/role"): {"role": "approver"},
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
    client = cast.a_admin.post(
        "/v1/clients", json={"kind": "api_key", "name": "a-key", "scopes": ["wallets:read"]}
    ).json()
    invitation = cast.a_admin.post(
        f"/v1/organizations/{world.orgs['a']}/invitations",
        json={"email": "newcomer@a.example", "full_name": "Newcomer", "role": "trader"},
    ).json()
    objects = {
        "org_id": str(world.orgs["a"]),
        "wallet_id": wallet["id"],
        "application_id": application["id"],
        "hit_id": application["hits"][0]["id"],
        "client_id": client["id"],
        "user_id": str(cast.a_viewer.id),
        "invitation_id": invitation["id"],
    }
    factories, _ = _plugins()
    for name, factory in factories.items():
        objects.setdefault(name, factory(world, cast, objects))
    return objects


def _routes(world: World) -> list[tuple[str, str]]:
    schema = world.client.get("/openapi.json").json()
    return [(method, path) for path, item in schema["paths"].items() for method in item if PARAM.search(path)]


def _b_credentials(world: World, cast: Cast) -> dict[str, dict[str, str]]:
    key = cast.b_admin.post(
        "/v1/clients",
        json={"kind": "api_key", "name": "b-key", "scopes": ["orgs:read", "kyc:read", "kyc:submit", "wallets:read"]},
    ).json()
    creds = {name: getattr(cast, name).headers for name in ("b_admin", "b_approver", "b_trader", "b_viewer")}
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
    assert cast.b_admin.get(f"/v1/clients/{a_objects['client_id']}").status_code == 404


def test_lists_show_only_own_objects(world: World, cast: Cast, a_objects: dict[str, str]) -> None:
    cast.b_approver.post("/v1/wallets", json={"label": "b-desk"})
    wallets = cast.b_viewer.get("/v1/wallets").json()
    assert len(wallets["data"]) == 1 and all(w["organization_id"] == str(world.orgs["b"]) for w in wallets["data"])
    orgs = cast.b_viewer.get("/v1/organizations").json()
    assert [o["id"] for o in orgs["data"]] == [str(world.orgs["b"])]
    assert cast.b_viewer.get("/v1/kyc/applications").json()["data"] == []
    assert cast.b_admin.get("/v1/clients").json()["data"] == []
    # Operator staff see everyone.
    assert len(cast.officer1.get("/v1/organizations").json()["data"]) == 3


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


# --- Every route × every role × every scope, generated from the route table ---------------------------------

FASTAPI_DOCS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})  # FastAPI's own pages, no data


@dataclass(frozen=True)
class Declared:
    """What a route declares: the permissions it checks, or that it is public."""

    path: str
    methods: tuple[str, ...]
    permissions: frozenset[Permission]
    public: bool
    websocket: bool


def _walk(dependant: Dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _walk(sub)


def declarations(app: FastAPI) -> list[Declared]:
    """Every route of ``app`` with its declared permission, read from the dependency tree (``Authorize``,
    ``public``) or, for a WebSocket route, from its ``declares`` mark."""
    found = []
    for route in iter_route_contexts(app.routes):
        path = str(route.path)
        if path in FASTAPI_DOCS:
            continue
        websocket = isinstance(route.original_route, APIWebSocketRoute)
        dependant = getattr(route, "dependant", None)  # a plain Starlette route has none: undeclared
        calls = list(_walk(dependant)) if dependant is not None else []
        permissions = {c.permission for c in calls if isinstance(c, Authorize)}
        if websocket and (marked := getattr(route.endpoint, "declared_permission", None)) is not None:
            permissions.add(marked)
        methods = tuple(sorted(route.methods or ())) if not websocket else ("WS",)
        found.append(Declared(path, methods, frozenset(permissions), public in calls, websocket))
    return found


def test_every_route_declares_its_permission(world: World) -> None:
    routes = declarations(world.client.app)  # type: ignore[arg-type]
    assert len(routes) >= 90, len(routes)
    undeclared = [f"{r.methods} {r.path}" for r in routes if not r.permissions and not r.public]
    assert not undeclared, "routes without a declared permission (Authorize/permits, or Public):\n" + "\n".join(
        undeclared
    )
    assert not [r.path for r in routes if r.permissions and r.public], "a route is either public or permitted"
    assert {r.path for r in routes if r.websocket} == {"/v1/stream"}


def test_a_route_without_a_declaration_is_caught() -> None:
    """The check above is not vacuous: a route that only authenticates (no permission) is reported."""
    app = FastAPI()

    @app.get("/v1/things")
    def things(principal: CurrentPrincipal) -> None: ...

    @app.get("/v1/declared")
    def declared(principal: Annotated[Principal, Depends(require(Permission.TRADES_READ))]) -> None: ...

    found = {d.path: d for d in declarations(app)}
    assert not found["/v1/things"].permissions and not found["/v1/things"].public
    assert found["/v1/declared"].permissions == {Permission.TRADES_READ}


@dataclass(frozen=True)
class Caller:
    name: str
    headers: dict[str, str]
    permissions: frozenset[Permission]


def _operator_client(world: World, cast: Cast, kind: ClientKind, scopes: list[Permission]) -> dict[str, str]:
    """A client of the operator's organization (operator staff create none over the API: ``reponet surveillance
    grant`` makes the surveillance service's on the gateway's host)."""
    with world.ctx.sessions() as session:
        created = clients.create_client(
            session,
            actor="test",
            organization_id=world.orgs["op"],
            user_id=cast.officer1.user.id,
            data=ClientCreate(kind=kind, name="operator service", scopes=[s.value for s in scopes]),
        )
    return {"id": str(created.id), "secret": created.secret}


def test_operator_scopes_are_refused_to_a_members_key(cast: Cast) -> None:
    for scope in sorted(OPERATOR_SCOPES):
        key = cast.a_admin.post("/v1/clients", json={"kind": "api_key", "name": "x", "scopes": [scope.value]})
        assert key.status_code == 403, key.text


def _callers(world: World, cast: Cast) -> list[Caller]:
    """Each role (a person of A, operator staff), an API key per client scope, an OAuth2 token per client scope."""
    callers = [
        Caller(name, getattr(cast, name).headers, ROLE_PERMISSIONS[role])
        for name, role in (
            ("admin", Role.OPERATOR_ADMIN),
            ("officer1", Role.COMPLIANCE_OFFICER),
            ("a_admin", Role.MEMBER_ADMIN),
            ("a_approver", Role.APPROVER),
            ("a_trader", Role.TRADER),
            ("a_viewer", Role.VIEWER),
        )
    ]
    assert set(ROLE_PERMISSIONS) == {Role(r) for r in Role}, "a role without a row in the matrix"
    scopes = sorted(CLIENT_SCOPES)
    member_scopes = [s.value for s in scopes if s not in OPERATOR_SCOPES]
    oauth = cast.a_admin.post(
        "/v1/clients", json={"kind": "oauth_client", "name": "matrix", "scopes": member_scopes}
    ).json()
    operator_oauth = _operator_client(world, cast, ClientKind.OAUTH_CLIENT, sorted(OPERATOR_SCOPES))
    for scope in scopes:
        if scope in OPERATOR_SCOPES:  # a key of the operator's (a member's is refused: test_operator_scopes_...)
            secret = _operator_client(world, cast, ClientKind.API_KEY, [scope])["secret"]
        else:
            key = cast.a_admin.post(
                "/v1/clients", json={"kind": "api_key", "name": scope.value, "scopes": [scope.value]}
            )
            assert key.status_code == 201, key.text
            secret = key.json()["secret"]
        callers.append(Caller(f"api key {scope.value}", {"X-API-Key": secret}, frozenset({scope})))
        client = operator_oauth if scope in OPERATOR_SCOPES else oauth
        token = world.client.post(
            "/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client["id"],
                "client_secret": client["secret"],
                "scope": scope.value,
            },
        )
        assert token.status_code == 200, token.text
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        callers.append(Caller(f"oauth {scope.value}", bearer, frozenset({scope})))
    return callers


def test_every_route_every_role_every_scope(world: World, cast: Cast, a_objects: dict[str, str]) -> None:
    """A caller without the route's permission gets 403, whatever the method: a scope limits reads as well as
    writes. A caller with it is not refused on GET (state-changing calls by holders are left to each domain's
    tests, so that the matrix does not revoke, delete or deactivate its own fixtures)."""
    routes = [r for r in declarations(world.client.app) if not r.public and not r.websocket]  # type: ignore[arg-type]
    _, plugin_bodies = _plugins()
    failures = []
    for caller in _callers(world, cast):
        for route in routes:
            path = route.path.format(**a_objects)
            holds = route.permissions <= caller.permissions
            for method in route.methods:
                if holds and method != "GET":
                    continue
                body = BODIES.get((method.lower(), route.path), plugin_bodies.get((method.lower(), route.path)))
                params = {"timeout": 0.05} if route.path.endswith("/wait") else None
                response = world.client.request(method, path, headers=caller.headers, json=body, params=params)
                if not holds and response.status_code != 403:
                    failures.append(
                        f"{caller.name} lacks {sorted(route.permissions)}: {method} {path} answered "
                        f"{response.status_code}"
                    )
                if holds and response.status_code in (401, 403):
                    failures.append(
                        f"{caller.name} holds {sorted(route.permissions)}: {method} {path} answered "
                        f"{response.status_code} {response.text[:120]}"
                    )
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)


def test_the_stream_declares_its_permission_and_checks_it(world: World, cast: Cast) -> None:
    """The WebSocket route in the same matrix: each caller is subscribed exactly when it holds events:read."""
    hub_of(world).bus = EventBus()
    for caller in _callers(world, cast):
        with world.client.websocket_connect("/v1/stream", headers=caller.headers) as ws:
            if Permission.EVENTS_READ in caller.permissions:
                try:
                    assert ws.receive_json()["type"] == "subscribed", caller.name
                except WebSocketDisconnect:
                    pytest.fail(f"{caller.name} holds events:read and was refused the stream")
                continue
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 1008, caller.name
