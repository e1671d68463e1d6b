"""End to end against a real chain over JSON-RPC: Anvil started as a subprocess, the system deployed with
``contracts.deploy.deploy_system``; an organization applies, is screened, approved by a second officer, and its
wallet is verified on chain; revoked, it is not. The audit head is anchored and verified against the chain."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
# Anvil's first well-known development key (public, test-only).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _artifacts_present() -> bool:
    try:
        from contracts.artifacts import artifact_names
    except ImportError:
        return False
    return {"IdentityRegistry", "AuditAnchor", "AccountRules", "RepoEngine"} <= set(artifact_names())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_rpc(url: str, proc: subprocess.Popen[bytes]) -> None:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(url))
    for _ in range(300):
        if proc.poll() is not None:
            pytest.fail(f"the chain process exited with {proc.returncode}")
        try:
            if w3.is_connected():
                return
        except Exception:
            pass
        time.sleep(0.1)
    pytest.fail("the chain did not start")


@pytest.fixture(params=["anvil", "reponet-node"])
def chain_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh chain over JSON-RPC: Anvil, or our own node in dev mode."""
    if not _artifacts_present():
        pytest.skip("contract artifacts are not committed yet (contracts/artifacts/*.json)")
    port = _free_port()
    if request.param == "anvil":
        binary = str(ANVIL) if ANVIL.exists() else shutil.which("anvil")
        if binary is None:
            pytest.skip("anvil is not installed (scripts/setup installs Foundry from npm)")
        command = [binary, "--port", str(port), "--silent"]
    else:
        binary = shutil.which("reponet-node") or str(ROOT / ".venv" / "bin" / "reponet-node")
        if not Path(binary).exists():
            pytest.skip("reponet-node is not installed")
        from eth_account import Account

        command = [
            binary,
            "dev",
            "--data-dir",
            str(tmp_path / "node"),
            "--rpc-port",
            str(port),
            "--allow",
            Account.from_key(DEV_KEY).address,
        ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_rpc(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_onboarding_whitelists_on_chain_and_revocation_removes(
    chain_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from eth_account import Account
    from web3 import Web3
    from web3.middleware import ExtraDataToPOAMiddleware

    from contracts.deploy import deploy_system
    from gateway import cli, config
    from gateway.chain.web3_client import Web3Chain
    from gateway.db.migrate import upgrade
    from gateway.db.models import Role
    from tests.gateway.conftest import SANCTIONS_CSV, application_body, make_world

    w3 = Web3(Web3.HTTPProvider(chain_url))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)  # QBFT headers carry validator extra data
    deployer = Account.from_key(DEV_KEY)
    addresses = deploy_system(w3, deployer)
    chain = Web3Chain(
        w3, account=deployer, identity_registry=addresses.identity_registry, audit_anchor=addresses.audit_anchor
    )
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    assert SANCTIONS_CSV
    for world in make_world(tmp_path, url, chain=chain):
        officer1 = world.user("op", Role.COMPLIANCE_OFFICER, "o1")
        officer2 = world.user("op", Role.COMPLIANCE_OFFICER, "o2")
        approver = world.user("a", Role.APPROVER, "ap")
        wallet = approver.post("/v1/wallets", json={"label": "desk"}).json()
        assert not chain.is_verified(wallet["address"])

        owners = [{"name": "Ivan Badactor", "ownership_percent": 25, "nationality": "GB"}]
        application: dict[str, Any] = approver.post(
            "/v1/kyc/applications", json=application_body(world, "a", beneficial_owners=owners)
        ).json()
        assert application["status"] == "screening_hits"
        hit = application["hits"][0]
        cleared = officer1.post(
            f"/v1/kyc/applications/{application['id']}/hits/{hit['id']}/decision",
            json={"decision": "false_positive", "note": "different date of birth"},
        )
        assert cleared.status_code == 200
        approved = officer2.post(f"/v1/kyc/applications/{application['id']}/decision", json={"approve": True})
        assert approved.status_code == 200, approved.text
        assert chain.is_verified(wallet["address"])
        later = approver.post("/v1/wallets", json={"label": "second"}).json()
        assert chain.is_verified(later["address"])

        anchored = officer1.post("/v1/audit/anchor")
        assert anchored.status_code == 201, anchored.text
        assert chain.anchored_heads()[anchored.json()["sequence"]] == anchored.json()["head_hash"]
        verify = officer1.get("/v1/audit/verify").json()
        assert verify["ok"] and verify["anchors_checked"] == 1

        revoked = officer2.post(f"/v1/organizations/{world.orgs['a']}/kyc/revoke", json={"reason": "e2e"})
        assert revoked.status_code == 200, revoked.text
        assert not chain.is_verified(wallet["address"])
        assert not chain.is_verified(later["address"])

        # The operator's CLI checks the log against the anchors it reads from the chain itself.
        settings = world.ctx.settings
        env = {
            "REPONET_ENVIRONMENT": "test",
            "REPONET_JWT_SECRET": settings.jwt_secret,
            "REPONET_DATABASE_URL": settings.database_url,
            "REPONET_MASTER_KEY_FILE": str(settings.master_key_file),
            "REPONET_CHAIN_RPC_URL": chain_url,
            "REPONET_CHAIN_PRIVATE_KEY": DEV_KEY,
            "REPONET_IDENTITY_REGISTRY_ADDRESS": addresses.identity_registry,
            "REPONET_AUDIT_ANCHOR_ADDRESS": addresses.audit_anchor,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        config.get_settings.cache_clear()
        try:
            assert cli.main(["--json", "audit", "verify", "--chain"]) == cli.ExitStatus.OK
            report = json.loads(capsys.readouterr().out)
            assert report["ok"] and report["anchors_checked"] == 1
            assert cli.main(["--json", "audit", "anchor"]) == cli.ExitStatus.OK
            assert len(chain.anchored_heads()) == 2
        finally:
            config.get_settings.cache_clear()
