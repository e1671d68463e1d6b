"""Transport-level controls: headers, CORS, size limits, problem+json, rate limits."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.conftest import PASSWORD, Cast, World, make_world


def test_security_headers(world: World) -> None:
    response = world.client.get("/health")
    assert response.status_code == 200
    headers = response.headers
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"


def test_cors_closed_by_default(world: World) -> None:
    response = world.client.options(
        "/v1/organizations",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers
    response = world.client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_body_size_limit(world: World) -> None:
    big = {"email": "x@y.z", "password": "p" * 100_000}
    response = world.client.post("/v1/auth/login", json=big)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


def test_chunked_body_counted(world: World) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    response = world.client.post("/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_errors_are_problem_json(world: World) -> None:
    response = world.client.get("/v1/organizations")
    assert response.status_code == 401
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == 401
    invalid = world.client.post("/v1/auth/login", json={"nope": 1})
    assert invalid.status_code == 422
    assert invalid.json()["type"].endswith("/validation")


@pytest.fixture
def tight_world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, db_url, rate_limit_login="3/minute", rate_limit_ip="50/minute")


def test_login_rate_limit_returns_429_with_retry_after(tight_world: World) -> None:
    body = {"email": "nobody@x.example", "password": PASSWORD, "totp_code": "000000"}
    codes = [tight_world.client.post("/v1/auth/login", json=body).status_code for _ in range(4)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429
    response = tight_world.client.post("/v1/auth/login", json=body)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1


def test_ip_rate_limit(tight_world: World) -> None:
    statuses = [tight_world.client.get("/health").status_code for _ in range(55)]
    assert 429 in statuses


@pytest.fixture
def principal_limited_world(tmp_path: Path, db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, db_url, rate_limit_principal="5/minute")


def test_per_user_rate_limit(principal_limited_world: World) -> None:
    from gateway.db.models import Role

    viewer = principal_limited_world.user("a", Role.VIEWER, "v")
    statuses = [viewer.get("/v1/wallets").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429


@pytest.mark.redis
def test_rate_limit_storage_redis(tmp_path: Path, db_url: str) -> None:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    import uuid

    from gateway.exceptions import RateLimited
    from gateway.ratelimit import RateLimiter

    limiter = RateLimiter("redis://127.0.0.1:6379/15")
    key = uuid.uuid4().hex
    limiter.hit("2/minute", "test", key)
    limiter.hit("2/minute", "test", key)
    other = RateLimiter("redis://127.0.0.1:6379/15")  # a second gateway process shares the budget
    with pytest.raises(RateLimited) as excinfo:
        other.hit("2/minute", "test", key)
    assert excinfo.value.retry_after >= 1


def test_unused_cast_fixture_loads(cast: Cast) -> None:
    assert cast.a_viewer.get("/v1/me").json()["role"] == "viewer"
