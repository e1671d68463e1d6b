"""Keys at rest: envelope encryption, no plaintext in the database, rotation, rewrap, retirement; SIWE."""

import dataclasses
import uuid
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from sqlalchemy import delete, select

from gateway import key_rotation as rotation
from gateway.custody.keys import unseal_account
from gateway.db.models import WalletKey
from gateway.exceptions import KeyManagementError, MasterKeyRetired
from gateway.keys.envelope import Sealed, seal, unseal
from gateway.keys.provider import EnvKeyProvider, FileKeyProvider
from tests.gateway.conftest import Cast, World


def _db_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("gateway.db*"))


def test_private_keys_never_in_database_or_responses(world: World, cast: Cast, tmp_path: Path) -> None:
    created = [cast.a_approver.post("/v1/wallets", json={"label": f"w{i}"}) for i in range(3)]
    raw = _db_bytes(tmp_path)
    with world.ctx.sessions() as session:
        for response in created:
            wallet = service_wallet(session, response.json()["id"])
            key = bytes(unseal_account(world.ctx.keys, session, wallet).key)
            assert key not in raw and key.hex().encode() not in raw and key.hex().upper().encode() not in raw
            assert key.hex() not in response.text
        rows = session.execute(select(WalletKey)).scalars().all()
        assert len(rows) == 3 and all(len(r.encrypted_key) == 12 + 32 + 16 for r in rows)


def service_wallet(session: object, wallet_id: str) -> object:
    from gateway.db.models import Wallet

    wallet = session.get(Wallet, uuid.UUID(wallet_id))  # type: ignore[attr-defined]
    assert wallet is not None
    return wallet


def test_wallet_id_bound_as_associated_data(world: World, tmp_path: Path) -> None:
    keys = FileKeyProvider(tmp_path / "k.json")
    sealed = seal(keys, owner="wallet/one", plaintext=b"k" * 32, session=None)
    assert unseal(keys, owner="wallet/one", sealed=sealed) == b"k" * 32
    with pytest.raises(KeyManagementError):
        unseal(keys, owner="wallet/two", sealed=sealed)  # a ciphertext moved to another wallet
    tampered = Sealed(sealed.master_version, sealed.wrapped_data_key, sealed.ciphertext[:-1] + b"\x00")
    with pytest.raises(KeyManagementError):
        unseal(keys, owner="wallet/one", sealed=tampered)


def test_rotation_rewraps_and_retirement_destroys_old_versions(world: World, cast: Cast) -> None:
    ids = [cast.a_approver.post("/v1/wallets", json={"label": f"w{i}"}).json()["id"] for i in range(2)]
    keys = world.ctx.keys
    assert keys.current_version == 1
    with world.ctx.sessions() as session:
        before = {
            r.wallet_id: (r.wrapped_data_key, r.encrypted_key) for r in session.execute(select(WalletKey)).scalars()
        }
        addresses = {i: unseal_account(keys, session, service_wallet(session, i)).address for i in ids}  # type: ignore[arg-type]
    with world.ctx.sessions() as session:
        report = rotation.rotate(keys, session, retire=False)
    assert (report.new_version, report.rewrapped) == (2, 2)
    with world.ctx.sessions() as session:
        rows = session.execute(select(WalletKey)).scalars().all()
        assert all(r.master_version == 2 for r in rows)
        for r in rows:
            assert r.wrapped_data_key != before[r.wallet_id][0]  # rewrapped
            assert r.encrypted_key == before[r.wallet_id][1]  # the key ciphertext is untouched
        for i in ids:
            assert unseal_account(keys, session, service_wallet(session, i)).address == addresses[i]  # type: ignore[arg-type]
    # Version 1 is still held, and would still decrypt an old blob, until retired.
    v1 = EnvKeyProvider("1:" + __import__("base64").b64encode(keys._material(1)).decode())
    old = seal(v1, owner="o", plaintext=b"x", session=None)
    assert unseal(keys, owner="o", sealed=old) == b"x"
    with world.ctx.sessions() as session:
        rotation.rotate(keys, session, retire=True)
    assert keys.min_version == 3 and keys.versions() == [3]
    with pytest.raises(MasterKeyRetired):
        unseal(keys, owner="o", sealed=old)
    with world.ctx.sessions() as session:
        for i in ids:
            assert unseal_account(keys, session, service_wallet(session, i)).address == addresses[i]  # type: ignore[arg-type]


def test_env_provider_min_version_retires(tmp_path: Path) -> None:
    import base64

    k1, k2 = base64.b64encode(b"1" * 32).decode(), base64.b64encode(b"2" * 32).decode()
    old = seal(EnvKeyProvider(f"1:{k1}"), owner="o", plaintext=b"secret", session=None)
    assert unseal(EnvKeyProvider(f"1:{k1},2:{k2}"), owner="o", sealed=old) == b"secret"
    with pytest.raises(MasterKeyRetired):
        unseal(EnvKeyProvider(f"1:{k1},2:{k2}", min_version=2), owner="o", sealed=old)


def test_key_file_is_private(tmp_path: Path) -> None:
    FileKeyProvider(tmp_path / "keys.json")
    assert (tmp_path / "keys.json").stat().st_mode & 0o077 == 0


def test_cli_keys_rotate(
    world: World, cast: Cast, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from gateway import cli, config

    cast.a_approver.post("/v1/wallets", json={"label": "w"})
    settings = world.ctx.settings
    monkeypatch.setenv("REPONET_ENVIRONMENT", "test")
    monkeypatch.setenv("REPONET_JWT_SECRET", settings.jwt_secret)
    monkeypatch.setenv("REPONET_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REPONET_MASTER_KEY_FILE", str(settings.master_key_file))
    config.get_settings.cache_clear()
    try:
        assert cli.main(["--json", "keys", "rotate"]) == cli.ExitStatus.OK
    finally:
        config.get_settings.cache_clear()
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "new_version": 2,
        "rewrapped": 1,
        "secrets_rewrapped": len(dataclasses.fields(Cast)),  # one TOTP secret per person
        "unreadable": [],
        "retired_below": None,
    }


def _siwe(cast: Cast, account: object) -> dict[str, str]:
    response = cast.a_approver.post(
        "/v1/wallets/siwe/challenge",
        json={"address": account.address, "label": "cold"},  # type: ignore[attr-defined]
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _sign(account: object, message: str) -> str:
    signed = Account.sign_message(encode_defunct(text=message), private_key=account.key)  # type: ignore[attr-defined]
    return "0x" + signed.signature.hex().removeprefix("0x")


def test_siwe_registers_self_held_wallet_once(world: World, cast: Cast) -> None:
    account = Account.create()
    challenge = _siwe(cast, account)
    message = challenge["message"]
    assert message.startswith("gateway.test wants you to sign in with your Ethereum account:\n" + account.address)
    assert "Chain ID: 31337" in message and f"Nonce: {challenge['nonce']}" in message
    body = {"message": message, "signature": _sign(account, message)}
    response = cast.a_approver.post("/v1/wallets/siwe/verify", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "self_held" and response.json()["address"] == account.address
    assert cast.a_approver.post("/v1/wallets/siwe/verify", json=body).status_code in (400, 409)  # nonce used
    # Even once the wallet is gone (e.g. removed), the signed challenge cannot be replayed.
    from gateway.db.models import Wallet

    with world.ctx.sessions.begin() as session:
        session.execute(delete(Wallet).where(Wallet.address == account.address))
    replay = cast.a_approver.post("/v1/wallets/siwe/verify", json=body)
    assert replay.status_code == 400 and "already used" in replay.json()["detail"]


def test_siwe_rejects_wrong_signer_and_altered_message(world: World, cast: Cast) -> None:
    account, other = Account.create(), Account.create()
    message = _siwe(cast, account)["message"]
    wrong = cast.a_approver.post(
        "/v1/wallets/siwe/verify", json={"message": message, "signature": _sign(other, message)}
    )
    assert wrong.status_code == 400
    altered = message.replace("Chain ID: 31337", "Chain ID: 1")
    response = cast.a_approver.post(
        "/v1/wallets/siwe/verify", json={"message": altered, "signature": _sign(account, altered)}
    )
    assert response.status_code == 400
    altered = message.replace("gateway.test wants", "evil.example wants")
    response = cast.a_approver.post(
        "/v1/wallets/siwe/verify", json={"message": altered, "signature": _sign(account, altered)}
    )
    assert response.status_code == 400


def test_siwe_challenge_expires(world: World, cast: Cast) -> None:
    from datetime import UTC, datetime, timedelta

    from gateway.db.models import SiweChallenge

    account = Account.create()
    challenge = _siwe(cast, account)
    with world.ctx.sessions.begin() as session:
        row = session.get(SiweChallenge, challenge["nonce"])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    body = {"message": challenge["message"], "signature": _sign(account, challenge["message"])}
    assert cast.a_approver.post("/v1/wallets/siwe/verify", json=body).status_code == 400


def test_siwe_challenge_bound_to_its_requester(world: World, cast: Cast) -> None:
    account = Account.create()
    challenge = _siwe(cast, account)
    body = {"message": challenge["message"], "signature": _sign(account, challenge["message"])}
    assert cast.b_approver.post("/v1/wallets/siwe/verify", json=body).status_code == 400


def test_users_still_log_in_after_rotation_and_retirement(world: World, cast: Cast) -> None:
    """TOTP secrets are sealed under the master key too: rotation rewraps them before old keys are destroyed."""
    with world.ctx.sessions() as session:
        report = rotation.rotate(world.ctx.keys, session, retire=True)
    assert report.secrets_rewrapped == len(dataclasses.fields(Cast)) and world.ctx.keys.versions() == [2]
    cast.a_viewer.tokens = {}
    assert cast.a_viewer.get("/v1/me").status_code == 200  # logs in with a fresh TOTP code


def test_private_keys_never_logged(world: World, cast: Cast, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    wallet_id = cast.a_approver.post("/v1/wallets", json={"label": "logged?"}).json()["id"]
    with world.ctx.sessions() as session:
        rotation.rotate(world.ctx.keys, session, retire=True)
        key = bytes(unseal_account(world.ctx.keys, session, service_wallet(session, wallet_id)).key)  # type: ignore[arg-type]
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert caplog.records  # something was logged, so the check means something
    assert key.hex() not in text.lower() and key.hex()[:16] not in text.lower()
