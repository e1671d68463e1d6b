"""Cached credential lookups (gateway.api.credentials): a repeated request does not look its credential up again,
and every change that ends or narrows a credential is refused on the very next request, also when another process
made it (here: a second engine on the same database, which only the database's triggers can tell the cache of)."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, text

from gateway.db.session import make_engine
from tests.gateway.conftest import Cast, World


@pytest.fixture
def other_process(world: World) -> Iterator[Engine]:
    """Writes as another gateway process would: its own engine, nothing shared with the app's process state."""
    engine = make_engine(world.ctx.settings.database_url)
    yield engine
    engine.dispose()


def _lookups(world: World) -> list[str]:
    """Statements the app's read engine runs against the credential tables from now on."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "auth_sessions" in statement or "api_clients" in statement:
            seen.append(statement)

    event.listen(world.ctx.read_engine, "before_cursor_execute", record)
    return seen


def _api_key(cast: Cast, scopes: list[str]) -> tuple[str, dict[str, str]]:
    body = {"kind": "api_key", "name": f"k-{uuid.uuid4().hex[:6]}", "scopes": scopes}
    created = cast.a_admin.post("/v1/clients", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["id"]), {"X-API-Key": str(created.json()["secret"])}


def test_repeated_requests_do_not_look_the_credential_up_again(cast: Cast, world: World) -> None:
    assert cast.a_viewer.get("/v1/me").status_code == 200
    _, key = _api_key(cast, ["wallets:read"])
    assert world.client.get("/v1/wallets", headers=key).status_code == 200
    seen = _lookups(world)
    for _ in range(3):
        assert cast.a_viewer.get("/v1/me").status_code == 200
        assert world.client.get("/v1/wallets", headers=key).status_code == 200
    assert seen == []


def test_session_revoked_by_another_process_is_refused_at_once(cast: Cast, world: World, other_process: Engine) -> None:
    viewer = cast.a_viewer
    assert viewer.get("/v1/me").status_code == 200
    assert viewer.get("/v1/me").status_code == 200  # served from the cache
    with other_process.begin() as conn:
        conn.execute(text("UPDATE auth_sessions SET revoked_at = :now"), {"now": datetime.now(UTC)})
    assert viewer.get("/v1/me").status_code == 401


def test_user_deactivated_by_another_process_is_refused_at_once(
    cast: Cast, world: World, other_process: Engine
) -> None:
    trader = cast.a_trader
    assert trader.get("/v1/me").status_code == 200
    with other_process.begin() as conn:
        conn.execute(text("UPDATE users SET is_active = false WHERE id = :id"), {"id": trader.id.hex})
    assert trader.get("/v1/me").status_code == 401


def test_role_narrowed_by_another_process_takes_effect_at_once(cast: Cast, world: World, other_process: Engine) -> None:
    admin = cast.a_admin
    assert admin.get("/v1/clients").status_code == 200
    with other_process.begin() as conn:
        conn.execute(text("UPDATE users SET role = 'viewer' WHERE id = :id"), {"id": admin.id.hex})
    assert admin.get("/v1/clients").status_code == 403


def test_api_key_revoked_or_narrowed_elsewhere_is_refused_at_once(
    cast: Cast, world: World, other_process: Engine
) -> None:
    narrowed_id, narrowed = _api_key(cast, ["wallets:read", "kyc:read"])
    revoked_id, revoked = _api_key(cast, ["wallets:read"])
    for headers in (narrowed, revoked):
        assert world.client.get("/v1/wallets", headers=headers).status_code == 200
    with other_process.begin() as conn:
        conn.execute(
            text("UPDATE api_clients SET scopes = :scopes WHERE id = :id"),
            {"scopes": '["kyc:read"]', "id": uuid.UUID(narrowed_id).hex},
        )
    assert world.client.get("/v1/wallets", headers=narrowed).status_code == 403
    with other_process.begin() as conn:
        conn.execute(
            text("UPDATE api_clients SET revoked_at = :now WHERE id = :id"),
            {"now": datetime.now(UTC), "id": uuid.UUID(revoked_id).hex},
        )
    assert world.client.get("/v1/wallets", headers=revoked).status_code == 401


def test_logout_and_revocation_through_the_api_end_cached_credentials(cast: Cast, world: World) -> None:
    pair = cast.a_viewer.login()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert world.client.get("/v1/me", headers=headers).status_code == 200
    assert world.client.get("/v1/me", headers=headers).status_code == 200
    assert world.client.post("/v1/auth/logout", headers=headers).status_code == 204
    assert world.client.get("/v1/me", headers=headers).status_code == 401

    client_id, key = _api_key(cast, ["wallets:read"])
    assert world.client.get("/v1/wallets", headers=key).status_code == 200
    assert world.client.get("/v1/wallets", headers=key).status_code == 200
    assert cast.a_admin.post(f"/v1/clients/{client_id}/revoke").status_code == 200
    assert world.client.get("/v1/wallets", headers=key).status_code == 401


def test_cached_api_key_still_expires_on_time(cast: Cast, world: World, other_process: Engine) -> None:
    """Expiry is checked against the clock on every request, not only when the record is read."""
    from gateway.api import credentials

    client_id, key = _api_key(cast, ["wallets:read"])
    assert world.client.get("/v1/wallets", headers=key).status_code == 200
    with world.ctx.read_sessions() as session:
        record = credentials.client_by_id(session, uuid.UUID(client_id))
    assert record is not None
    # Move the cached record's expiry into the past without touching the database (and so the generation).
    for cache_key, (generation, cached) in list(credentials._cache.items()):
        if getattr(cached, "id", None) == record.id:
            expired = type(record)(**{**record.__dict__, "expires_at": datetime.now(UTC) - timedelta(seconds=1)})
            credentials._cache[cache_key] = (generation, expired)
    assert world.client.get("/v1/wallets", headers=key).status_code == 401
