"""The flat route table (gateway.api.route_table) describes and dispatches the API exactly as FastAPI's own
``include_router`` would, with one list walked once per request."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from gateway.api.route_table import include_flat
from gateway.app import domain_routers, routers
from gateway.auth.permission_table import declarations, dependency_calls
from gateway.web.routes import router as web_router


def _nested() -> FastAPI:
    """The same routers as FastAPI's own include_router nests them."""
    v1 = APIRouter(prefix="/v1")
    for router in domain_routers():
        v1.include_router(router)
    app = FastAPI()
    app.include_router(v1)
    app.include_router(web_router)
    return app


def _flat() -> FastAPI:
    app = FastAPI()
    include_flat(app.router, routers())
    include_flat(app.router, web_router)
    return app


def _dependency_calls(app: FastAPI) -> dict[tuple[str, str], list[str]]:
    """Per (path, methods): every dependency the route solves, by name, in order."""

    table = {}
    for route in iter_route_contexts(app.routes):
        websocket = isinstance(route.original_route, APIWebSocketRoute)
        methods = "WS" if websocket else ",".join(sorted(route.methods or ()))
        dependant = getattr(route, "dependant", None)
        calls = dependency_calls(dependant) if dependant is not None else ()
        table[(str(route.path), methods)] = [getattr(call, "__qualname__", repr(call)) for call in calls]
    return table


def test_the_flat_table_describes_the_same_api_as_include_router() -> None:
    nested, flat = _nested(), _flat()
    spec = flat.openapi()
    assert spec == nested.openapi()
    assert len(spec["paths"]) >= 85
    assert "401" in spec["paths"]["/v1/settlements"]["get"]["responses"]  # the router's problem answers


def test_every_route_keeps_its_dependencies_and_the_table_is_one_level() -> None:
    flat = _flat()
    assert all(isinstance(route, APIRoute | APIWebSocketRoute) for route in flat.router.routes[4:])  # after the docs
    table = _dependency_calls(flat)
    assert table == _dependency_calls(_nested())
    assert sum(1 for calls in table.values() if any("Authorize" in c for c in calls)) >= 85
    assert declarations(flat) == declarations(_nested())


def test_a_route_kind_it_cannot_copy_is_refused_not_dropped() -> None:
    router = APIRouter()
    router.routes.append(Mount("/files", app=FastAPI()))
    with pytest.raises(TypeError, match="Mount"):
        include_flat(APIRouter(), router)


def test_prefixes_and_router_dependencies_apply_to_copied_routes() -> None:
    seen: list[str] = []

    def outer() -> None:
        seen.append("router")

    inner = APIRouter(prefix="/inner", dependencies=[Depends(outer)], tags=["t"])

    @inner.get("/{item}", status_code=201)
    def get_item(item: int) -> dict[str, int]:
        return {"item": item}

    v1 = APIRouter(prefix="/v1")
    include_flat(v1, inner)
    app = FastAPI()
    include_flat(app.router, v1)
    with TestClient(app) as client:
        ok = client.get("/v1/inner/7")
        wrong_method = client.post("/v1/inner/7")
        bad = client.get("/v1/inner/x")
    assert (ok.status_code, ok.json()) == (201, {"item": 7})
    assert wrong_method.status_code == 405
    assert bad.status_code == 422
    assert seen == ["router", "router"]  # the router's dependency ran for the good and the invalid request
