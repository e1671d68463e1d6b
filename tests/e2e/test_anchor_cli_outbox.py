"""``reponet audit anchor`` while the gateway relays: the command queues its anchor on the outbox the gateway's
relayer sends, waits out an anchor still on its way and reports the outcome. The anchoring account then has one
sender and one nonce allocator: every transaction of that account since the outbox began was numbered by the
allocator. The command used to send the anchor itself with the same key, a second nonce sequence racing the
relayer's (no settlement of its own, and the allocator's count behind the chain's)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway import cli, config
from gateway.db.models import Role
from gateway.settlement_records.models import ChainStep, SenderNonce, Settlement
from tests.e2e.chains import DEV_KEY, RELAYER_KEY, deploy, start_chain
from tests.e2e.worlds import chain_world
from tests.gateway.conftest import World

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(params=["anvil", "reponet-node"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, Any]]:
    for chain in start_chain(request.param, tmp_path):
        d = deploy(chain)
        for w in chain_world(d, tmp_path, registry_outbox=True):
            yield w, d


def _cli_env(monkeypatch: pytest.MonkeyPatch, w: World, d: Any) -> None:
    """The operator's command on the gateway's database and chain (the deployer is the anchoring account here)."""
    settings = w.ctx.settings
    env = {
        "REPONET_ENVIRONMENT": "test",
        "REPONET_JWT_SECRET": settings.jwt_secret,
        "REPONET_DATABASE_URL": settings.database_url,
        "REPONET_MASTER_KEY_FILE": str(settings.master_key_file),
        "REPONET_CHAIN_RPC_URL": d.chain.url,
        "REPONET_CHAIN_ID": str(d.w3.eth.chain_id),
        "REPONET_CHAIN_PRIVATE_KEY": DEV_KEY,
        "REPONET_RELAYER_PRIVATE_KEY": RELAYER_KEY,
        "REPONET_ANCHOR_KEY": DEV_KEY,
        "REPONET_IDENTITY_REGISTRY_ADDRESS": d.addresses["identity_registry"],
        "REPONET_AUDIT_ANCHOR_ADDRESS": d.addresses["audit_anchor"],
        "REPONET_REPO_ENGINE_ADDRESS": d.addresses["repo_engine"],
        "REPONET_PRICE_ORACLE_ADDRESS": d.addresses["price_oracle"],
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_the_anchor_command_queues_on_the_outbox_and_waits_for_the_relayer(
    world: tuple[World, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    w, d = world
    officer = w.user("op", Role.COMPLIANCE_OFFICER, "o1")
    # the gateway's own anchor, on its way when the command runs: the command waits it out, then queues its own
    on_its_way = officer.post("/v1/audit/anchor")
    assert on_its_way.status_code == 201, on_its_way.text
    _cli_env(monkeypatch, w, d)
    config.get_settings.cache_clear()
    try:
        assert cli.main(["--json", "audit", "anchor", "--wait", "60"]) == cli.ExitStatus.OK
    finally:
        config.get_settings.cache_clear()
    report = json.loads(capsys.readouterr().out)

    anchorer = d.deployer.address
    with w.ctx.sessions() as session:
        allocator = session.get(SenderNonce, anchorer)
        steps = list(session.scalars(select(ChainStep).where(ChainStep.sender == anchorer).order_by(ChainStep.nonce)))
        by_cli = list(session.scalars(select(Settlement).where(Settlement.requested_by == "system:cli")))
    # nothing sent from the anchoring account past its one allocator: its count is the chain's
    assert allocator is not None and allocator.next_nonce == d.w3.eth.get_transaction_count(anchorer)
    nonces = [s.nonce for s in steps]
    assert len(steps) >= 2 and nonces == list(range(nonces[0], nonces[0] + len(nonces))), nonces
    [mine] = by_cli
    assert mine.kind == "audit_anchor" and str(mine.id) == report["settlement_id"], report
    assert report["status"] == "final" and report["tx_hash"] in {s.tx_hash for s in steps}, report
    assert _anchored(d)[report["sequence"]] == report["head_hash"].removeprefix("0x")


def _anchored(d: Any) -> dict[int, str]:
    from gateway.chain.web3_client import Web3Chain

    chain = Web3Chain(
        d.w3,
        account=d.deployer,
        identity_registry=d.addresses["identity_registry"],
        audit_anchor=d.addresses["audit_anchor"],
    )
    return {int(k): str(v).removeprefix("0x") for k, v in chain.anchored_heads().items()}
