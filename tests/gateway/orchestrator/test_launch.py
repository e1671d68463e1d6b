"""How ``reponet up`` launches the gateway: how many API workers, and where their rate limits are counted."""

from __future__ import annotations

from pathlib import Path


def test_up_starts_several_api_workers_only_with_shared_rate_limits() -> None:
    """In-memory limits are shared out among workers (each gets its share): ``reponet up`` keeps one worker unless
    the limits have a shared store, so its sign-in limit is not halved under the onboarding flow."""
    from gateway.orchestrator.launch import MAX_API_WORKERS, default_api_workers

    assert default_api_workers({}) == 1
    assert default_api_workers({"REPONET_RATE_LIMIT_STORAGE_URL": "memory://"}) == 1
    shared = default_api_workers({"REPONET_RATE_LIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0"})
    assert 1 <= shared <= MAX_API_WORKERS
    assert default_api_workers({"REPONET_RATE_LIMIT_STORAGE_URL": "file:///data/ratelimits.bin"}) == shared


def test_up_shares_rate_limits_through_a_file_unless_told_otherwise(tmp_path: Path) -> None:
    """``reponet up`` counts its workers' limits in one shared file, so it can run one worker per core."""
    from gateway.orchestrator.launch import rate_limit_storage

    assert rate_limit_storage(tmp_path, {}) == f"file://{tmp_path.resolve() / 'ratelimits.bin'}"
    assert rate_limit_storage(tmp_path, {"REPONET_RATE_LIMIT_STORAGE_URL": "redis://r/0"}) == "redis://r/0"
