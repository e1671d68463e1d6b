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


def test_each_purpose_has_its_own_key_named_as_reponet_up_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.config import KeyPurpose

    names = {purpose: purpose.env for purpose in KeyPurpose}
    assert names == {
        KeyPurpose.RELAYER: "REPONET_RELAYER_PRIVATE_KEY",
        KeyPurpose.KYC_AGENT: "REPONET_KYC_AGENT_KEY",
        KeyPurpose.ORACLE_FEEDER: "REPONET_ORACLE_FEEDER_KEY",
        KeyPurpose.ISSUER: "REPONET_ISSUER_KEY",
        KeyPurpose.ANCHOR: "REPONET_ANCHOR_KEY",
    }
    for index, env in enumerate(names.values()):
        monkeypatch.setenv(env, f"0x{index + 1:064x}")
    monkeypatch.setenv("REPONET_CHAIN_PRIVATE_KEY", "0x" + "ff" * 32)
    settings = Settings()
    assert [settings.key_for(p) for p in names] == [f"0x{i + 1:064x}" for i in range(len(names))]
    assert settings.shared_key_purposes() == []


def test_an_unset_purpose_key_falls_back_and_production_warns(caplog: pytest.LogCaptureFixture) -> None:
    from gateway.app import warn_shared_keys
    from gateway.config import KeyPurpose

    chain_key, relayer_key = "0x" + "ff" * 32, "0x" + "ee" * 32
    dev = Settings(chain_private_key=chain_key, relayer_private_key=relayer_key)
    assert dev.key_for(KeyPurpose.KYC_AGENT) == chain_key and dev.key_for(KeyPurpose.ANCHOR) == chain_key
    assert dev.key_for(KeyPurpose.ISSUER) == relayer_key  # the relayer held the issuer role before
    assert Settings(chain_private_key=chain_key).key_for(KeyPurpose.ORACLE_FEEDER) == chain_key
    production = Settings(
        environment="production",
        jwt_secret="x" * 40,
        master_keys="1:" + "A" * 43 + "=",
        chain_rpc_url="http://127.0.0.1:8545",
        chain_private_key=chain_key,
        relayer_private_key=relayer_key,
    )
    with caplog.at_level("WARNING", logger="gateway.app"):
        warn_shared_keys(production)
    assert "REPONET_KYC_AGENT_KEY" in caplog.text and "REPONET_ANCHOR_KEY" in caplog.text
    assert "REPONET_RELAYER_PRIVATE_KEY" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="gateway.app"):
        warn_shared_keys(dev)  # development: the shared key is expected
    assert caplog.text == ""
