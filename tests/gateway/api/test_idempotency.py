"""Idempotency keys on POST: a retry gets the first answer, and does not act twice."""

from tests.gateway.conftest import Cast, World


def test_retry_with_same_key_replays_without_acting_twice(world: World, cast: Cast) -> None:
    headers = {**cast.a_approver.headers, "Idempotency-Key": "wallet-create-1"}
    first = world.client.post("/v1/wallets", json={"label": "desk"}, headers=headers)
    second = world.client.post("/v1/wallets", json={"label": "desk"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert len(cast.a_approver.get("/v1/wallets").json()["data"]) == 1


def test_same_key_different_request_rejected(world: World, cast: Cast) -> None:
    headers = {**cast.a_approver.headers, "Idempotency-Key": "k-2"}
    assert world.client.post("/v1/wallets", json={"label": "one"}, headers=headers).status_code == 201
    other = world.client.post("/v1/wallets", json={"label": "two"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")


def test_keys_are_per_caller(world: World, cast: Cast) -> None:
    key = {"Idempotency-Key": "shared"}
    a = world.client.post("/v1/wallets", json={"label": "x"}, headers={**cast.a_approver.headers, **key})
    b = world.client.post("/v1/wallets", json={"label": "x"}, headers={**cast.b_approver.headers, **key})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]  # B never sees A's stored answer


def test_secret_bearing_answers_are_not_stored(world: World, cast: Cast) -> None:
    from sqlalchemy import select

    from gateway.db.models import IdempotencyRecord

    headers = {**cast.a_admin.headers, "Idempotency-Key": "client-1"}
    body = {"kind": "api_key", "name": "k", "scopes": ["wallets:read"]}
    first = world.client.post("/v1/clients", json=body, headers=headers)
    assert first.status_code == 201
    replay = world.client.post("/v1/clients", json=body, headers=headers)
    assert replay.status_code == 422 and "shown only once" in replay.json()["detail"]
    with world.ctx.sessions() as session:
        record = session.execute(select(IdempotencyRecord)).scalar_one()
        assert record.body is None
    assert len(cast.a_admin.get("/v1/clients").json()["data"]) == 1


def test_malformed_key_rejected(world: World, cast: Cast) -> None:
    headers = {**cast.a_approver.headers, "Idempotency-Key": "x" * 65}
    assert world.client.post("/v1/wallets", json={"label": "x"}, headers=headers).status_code == 400
