import pytest
from pydantic import ValidationError

from gateway.config import Settings
from gateway.members.validation import lei_checksum_ok, lei_with_check_digits


def test_placeholder_jwt_secret_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="REPONET_JWT_SECRET"):
        Settings(environment="production", jwt_secret="changethis", master_keys="1:" + "A" * 43 + "=")
    with pytest.raises(ValidationError, match="REPONET_JWT_SECRET"):
        Settings(environment="test")  # the development default is a placeholder


def test_production_requires_master_keys() -> None:
    with pytest.raises(ValidationError, match="MASTER_KEY"):
        Settings(environment="production", jwt_secret="x" * 40)


def test_in_memory_chain_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="memory"):
        Settings(
            environment="production", jwt_secret="x" * 40, master_keys="1:" + "A" * 43 + "=", chain_rpc_url="memory://"
        )


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPONET_MAX_REQUEST_BYTES", "1234")
    assert Settings().max_request_bytes == 1234


@pytest.mark.parametrize(
    "lei,ok",
    [
        ("5493001KJTIIGC8Y1R12", True),  # a published LEI (Bloomberg Finance L.P.)
        ("5493001KJTIIGC8Y1R13", False),
        ("529900T8BM49AURSDO55", True),  # a published LEI (Deutsche Boerse AG)
        ("529900T8BM49AURSDO56", False),
        ("SHORT", False),
    ],
)
def test_lei_check_digits(lei: str, ok: bool) -> None:
    assert lei_checksum_ok(lei) is ok


def test_lei_generator_round_trip() -> None:
    assert lei_checksum_ok(lei_with_check_digits("ABCDEFGHIJKLMNOPQR"))
