#!/usr/bin/env python3
"""The benchmark's members, made by the checkout under test with its own code: ``bench_gateway.py`` runs this file
with that checkout's ``.venv`` python and the checkout first on the import path, so that an older tree
(``--vs``) onboards through its own demo steps and API spelling. Prints one JSON object (``Onboarded``).

    CHECKOUT/.venv/bin/python scripts/bench_members.py CHECKOUT DATA_DIR
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Onboarded:
    """What the load needs: where the gateway listens, two members' bearer headers, open terms, a repo's id."""

    gateway_url: str
    tls_cert: str
    repo_id: int
    ha: dict[str, str] = field(default_factory=dict)
    hb: dict[str, str] = field(default_factory=dict)
    terms: dict[str, Any] = field(default_factory=dict)
    admins: dict[str, dict[str, str]] = field(default_factory=dict)  # each member administrator's bearer header
    custodial: dict[str, str] = field(default_factory=dict)  # each member's custodial wallet id
    orgs: dict[str, str] = field(default_factory=dict)  # each member's organization id


def _custodial(listing: Any, address: str) -> str:
    rows = listing["data"] if isinstance(listing, dict) else listing
    return next(str(w["id"]) for w in rows if str(w["address"]).lower() == address.lower())


def _rate_field() -> str:
    """``rate_fraction`` where the checkout has it, else the older ``rate``."""
    from gateway.trading import schemas

    return "rate_fraction" if hasattr(schemas, "rate_fraction") else "rate"


def onboard(data_dir: Path) -> Onboarded:
    """Two members onboarded by the demo's own steps, their custodial wallets funded, a first repo opened."""
    from rich.console import Console

    from gateway.demo.story import Story
    from gateway.ops.chain import send, to_units
    from gateway.ops.client import wait_settlement
    from gateway.ops.network import COMPLIANCE_USER, OPS_USER
    from gateway.ops.network import Network as OpsNetwork

    net = OpsNetwork(data_dir)
    story = Story(net, Console(file=io.StringIO()))
    ops, compliance = net.session(OPS_USER), net.session(COMPLIANCE_USER)
    story.ops = ops
    story.gateway_trading = True
    story.onboard(ops, compliance)
    a, b = story.members["a"], story.members["b"]
    wallets = {m.key: _custodial(m.session.get("/v1/wallets"), m.custodial) for m in (a, b)}
    story.settle(
        ops.post(
            "/v1/operator/cash/issue",
            body={"token": story.cash.address, "wallet": b.custodial, "amount": "100000000"},
        ),
        "cash issue",
    )
    bond = story.tok(story.gov).functions.mint(a.custodial, to_units("100000000", story.gov.decimals))
    send(story.w3, story.issuer, bond, "mint bonds")
    for listed in (story.gov, story.corp):
        story.post_price(listed, "100")
    terms: dict[str, Any] = {
        "role": "seller",
        "wallet_id": wallets["a"],
        "counterparty_wallet": b.custodial,
        "cash_token": story.cash.address,
        "collateral_token": story.gov.address,
        "purchase_price": "1000",
        "collateral_amount": "1100",
        _rate_field(): "0.035",
        "haircut_bps": 200,
        "tenor_seconds": 86_400,
    }
    # The first open through the sessions: each steps up once (TOTP) and the wallets send their approvals.
    trade = a.session.post("/v1/trades", body=terms)
    a.session.post(f"/v1/trades/{trade['id']}/sign")
    signed = b.session.post(f"/v1/trades/{trade['id']}/sign")
    wait_settlement(a.session, {"id": signed["trade"]["settlement_id"], "status": "pending"}, timeout=120)
    opened = a.session.get(f"/v1/trades/{trade['id']}")
    out = Onboarded(
        gateway_url=net.gateway_url,
        tls_cert=str(net.dir.tls_cert),
        repo_id=int(opened["repo_id"]),
        ha={"Authorization": f"Bearer {a.session.creds.access_token}"},
        hb={"Authorization": f"Bearer {b.session.creds.access_token}"},
        terms=terms,
        admins={m.key: {"Authorization": f"Bearer {m.admin.creds.access_token}"} for m in (a, b) if m.admin},
        custodial=wallets,
        orgs={m.key: m.org_id for m in (a, b)},
    )
    net.close()
    return out


def main(argv: list[str]) -> int:
    checkout, data_dir = Path(argv[1]).resolve(), Path(argv[2])
    sys.path.insert(0, str(checkout))  # the checkout's own gateway package, not this script's tree
    print(json.dumps(asdict(onboard(data_dir))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
