"""Master-key rotation beside a running gateway: the gateway follows the key file, nothing is sealed under a
version being retired, and retirement refuses while anything still is."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from gateway import key_rotation as rotation
from gateway.custody.keys import unseal_account
from gateway.db.models import Role, User, Wallet, WalletKey
from gateway.db.session import make_engine, make_session_factory
from gateway.exceptions import KeyManagementError
from gateway.exit_status import ExitStatus
from gateway.keys.envelope import seal_small, unseal_small
from gateway.keys.provider import FileKeyProvider
from tests.gateway.conftest import PASSWORD, Cast, World, make_world


def _cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """``reponet`` as its own process, as an operator runs it beside the gateway."""
    settings = world.ctx.settings
    env = {
        **os.environ,
        "REPONET_ENVIRONMENT": "test",
        "REPONET_JWT_SECRET": settings.jwt_secret,
        "REPONET_DATABASE_URL": settings.database_url,
        "REPONET_MASTER_KEY_FILE": str(settings.master_key_file),
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _login_status(world: World, email: str, secret_of: uuid.UUID) -> int:
    """Log in through the gateway; the test reads the TOTP secret with keys of its own (the file as it is now)."""
    keys = FileKeyProvider(Path(str(world.ctx.settings.master_key_file)))
    with world.ctx.sessions.begin() as session:
        user = session.get(User, secret_of)
        assert user is not None and user.totp_secret_enc is not None
        user.totp_last_step = 0
        secret = unseal_small(keys, owner=f"user-totp/{user.id}", blob=user.totp_secret_enc).decode()
    body = {"email": email, "password": PASSWORD, "totp_code": pyotp.TOTP(secret).now()}
    return int(world.client.post("/v1/auth/login", json=body).status_code)


def test_a_running_gateway_follows_a_rotation_with_retirement(world: World, cast: Cast) -> None:
    done = _cli(world, "keys", "rotate", "--retire")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["retired_below"] == 2
    # Logins unseal TOTP secrets that the other process rewrapped under version 2.
    assert _login_status(world, cast.a_viewer.user.email, cast.a_viewer.id) == 200
    # A custodial wallet created now is sealed under version 2, not under the version just destroyed.
    cast.a_approver.login()
    created = cast.a_approver.post("/v1/wallets", json={"label": "after rotation"})
    assert created.status_code == 201, created.text
    wallet_id = uuid.UUID(created.json()["id"])
    with world.ctx.sessions() as session:
        row = session.get(WalletKey, wallet_id)
        assert row is not None and row.master_version == 2
    # Another rotation goes through, and the wallet still signs after a restart (a fresh provider).
    again = _cli(world, "keys", "rotate", "--retire")
    assert again.returncode == 0, again.stderr
    restarted = FileKeyProvider(Path(str(world.ctx.settings.master_key_file)))
    assert restarted.versions() == [3]
    with world.ctx.sessions() as session:
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        assert unseal_account(restarted, session, wallet).address == wallet.address


def test_a_provider_sees_versions_added_by_another_process(tmp_path: Path) -> None:
    gateway_side, operator_side = FileKeyProvider(tmp_path / "k.json"), FileKeyProvider(tmp_path / "k.json")
    assert gateway_side.current_version == 1
    operator_side.add_version()
    assert gateway_side.current_version == 2
    blob = seal_small(operator_side, owner="o", plaintext=b"x", session=None)
    assert unseal_small(gateway_side, owner="o", blob=blob) == b"x"


@pytest.fixture
def any_world(tmp_path: Path, any_db_url: str) -> Iterator[World]:
    yield from make_world(tmp_path, any_db_url)


def test_retirement_waits_for_a_secret_being_sealed_meanwhile(any_world: World) -> None:
    """A gateway seals under the version it believes current while another process rotates and retires: the
    retirement waits for that transaction and rewraps its row, so nothing ends up under a destroyed version."""
    world = any_world
    viewer = world.user("a", Role.VIEWER, "v")
    settings = world.ctx.settings
    secret = pyotp.random_base32()
    sealing = world.ctx.sessions()
    blob = seal_small(world.ctx.keys, owner=f"user-totp/{viewer.id}", plaintext=secret.encode(), session=sealing)
    assert blob[:2] == b"\x00\x01"  # sealed under version 1, on its way to the database

    other_engine = make_engine(settings.database_url)  # the operator's process: its own connections
    operator_keys = FileKeyProvider(Path(str(settings.master_key_file)))
    failures: list[BaseException] = []

    def rotate_and_retire() -> None:
        try:
            with make_session_factory(other_engine)() as session:
                rotation.rotate(operator_keys, session, retire=True)
        except BaseException as exc:  # reported below
            failures.append(exc)

    operator = threading.Thread(target=rotate_and_retire)
    operator.start()
    operator.join(timeout=2.0)  # without the lock the retirement would be over by now
    user = sealing.get(User, viewer.id)
    assert user is not None
    user.totp_secret_enc = blob
    sealing.commit()
    sealing.close()
    operator.join(timeout=60)
    other_engine.dispose()
    assert not operator.is_alive() and not failures, failures
    assert operator_keys.versions() == [2]
    with world.ctx.sessions() as session:
        row = session.get(User, viewer.id)
        assert row is not None and row.totp_secret_enc is not None
        assert unseal_small(operator_keys, owner=f"user-totp/{row.id}", blob=row.totp_secret_enc) == secret.encode()


def test_retirement_refuses_while_a_secret_is_sealed_under_an_old_version(world: World, cast: Cast) -> None:
    keys = world.ctx.keys
    cast.a_approver.login()
    wallet_id = uuid.UUID(cast.a_approver.post("/v1/wallets", json={"label": "old"}).json()["id"])
    # Damage as the old code did it: version 1 destroyed while a wallet key is still sealed under it.
    keys.add_version()
    with world.ctx.sessions() as session:
        rows = session.scalars(select(User).where(User.totp_secret_enc.is_not(None))).all()
        for user in rows:
            assert user.totp_secret_enc is not None
            user.totp_secret_enc = seal_small(
                keys,
                owner=f"user-totp/{user.id}",
                plaintext=unseal_small(keys, owner=f"user-totp/{user.id}", blob=user.totp_secret_enc),
                session=session,
            )
        session.commit()
    keys.set_min_version(2)

    refused = _cli(world, "keys", "rotate", "--retire")
    assert refused.returncode == ExitStatus.REFUSED, refused.stderr
    assert "still sealed" in refused.stderr and "1 under v1" in refused.stderr
    assert keys.versions() == [2, 3]  # nothing destroyed
    # Rotation itself still works, names what it could not unwrap, and keeps everything else readable.
    with world.ctx.sessions() as session:
        report = rotation.rotate(keys, session, retire=False)
    people = len(dataclasses.fields(Cast))  # one TOTP secret each
    assert report.unreadable == (f"wallet/{wallet_id}",) and report.secrets_rewrapped == people
    status = _cli(world, "keys", "status")
    assert json.loads(status.stdout)["sealed"] == {"1": 1, "4": people}
    with world.ctx.sessions() as session:
        with pytest.raises(rotation.RetirementRefused):
            rotation.retire_below(keys, session, below=4)
        wallet = session.get(Wallet, wallet_id)
        assert wallet is not None
        with pytest.raises(KeyManagementError):
            unseal_account(keys, session, wallet)
    assert _login_status(world, cast.a_viewer.user.email, cast.a_viewer.id) == 200
