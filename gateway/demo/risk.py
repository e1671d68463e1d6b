"""The demo's risk chapters, on a network ``reponet up`` started (its risk service and price feed run beside the
gateway): the two members agree margin terms (a version both approve, with Fund B's standing instruction), Fund
B's administrator grants the risk service a key, a lower price lands in the feed's CSV drop, and the risk service —
no one at a keyboard — calls margin on Fund B's repo. Fund B's stress report is written to a file.

Without the up-managed service (another network, ``--chain-only``) the story calls margin by hand, as before."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from websockets.sync.client import connect
from websockets.sync.connection import Connection

from gateway.demo.exceptions import DemoError
from gateway.demo.records import STATUS, Member, RepoRecord
from gateway.demo.stage import Stage
from gateway.risk.config_file import read_json, write_private_json

STREAM_SECONDS = 60.0  # the call's event and the service's next snapshot, after the call is on chain
AUTO_CALL_SECONDS = 90.0  # the feed's round, the gateway's bound, the relayer, the service's tick, the next block
RISK_ROUTES = {"/v1/risk/agreements", "/v1/risk/margin-calls", "/v1/risk/stress", "/v1/risk/feed/prices"}
THRESHOLD, MINIMUM_TRANSFER, ROUNDING = "25000", "10000", "1000"


def risk_service_available(stage: Stage) -> bool:
    """The gateway has the risk routes and this data directory runs the risk service and the price feed."""
    risk = stage.net.dir.path / "risk"
    return (
        stage.gateway_trading
        and RISK_ROUTES <= stage.paths
        and (risk / "config.json").exists()
        and (risk / "feed.json").exists()
    )


def _drop_dir(stage: Stage) -> Path:
    feed: dict[str, Any] = json.loads((stage.net.dir.path / "risk" / "feed.json").read_text())
    if not feed.get("csv_dirs"):
        raise DemoError("the price feed has no CSV drop directory")
    return Path(feed["csv_dirs"][0])


def agree_and_grant(stage: Stage) -> None:
    """Fund B proposes margin terms with its standing instruction, Bank A approves them; Fund B's administrator
    grants the risk service a key (repos:read, risk:act), added to the running service's configuration."""
    stage.chapter("Margin terms agreed; the risk service watches Fund B's repos")
    a, b = stage.members["a"], stage.members["b"]
    proposed = b.session.post(
        "/v1/risk/agreements",
        body={
            "counterparty_id": a.org_id,
            "base_currency": stage.cash.address,
            "threshold": THRESHOLD,
            "minimum_transfer": MINIMUM_TRANSFER,
            "rounding": ROUNDING,
            "method": "B",
            "cure_period_seconds": 600,
            "auto_call": True,
        },
    )
    a.session.post(f"/v1/risk/agreements/{proposed['id']}/approve", body={"auto_call": False})
    stage.say(
        f"{b.name} proposes margin terms (GMRA method B, threshold {int(THRESHOLD):,}, minimum transfer "
        f"{int(MINIMUM_TRANSFER):,} {stage.cash.symbol}, version {proposed['version']}) with its standing "
        f"instruction that the risk service calls for it; {a.name} approves: effective"
    )
    if b.admin is None:
        raise DemoError(f"{b.name}: no administrator session to grant the risk service a key")
    key = b.admin.post(
        "/v1/clients",
        body={"kind": "api_key", "name": "risk service", "scopes": ["repos:read", "risk:act"], "expires_in_days": 30},
    )
    path = stage.net.dir.path / "risk" / "config.json"
    config = read_json(path)
    entry = {"name": b.name, "api_key": key["secret"], "client_id": str(key["id"])}
    config["members"] = [m for m in config["members"] if m.get("name") != b.name] + [entry]
    write_private_json(path, config)
    stage.say(f"{b.name}'s administrator grants the risk service a key (repos:read, risk:act) in {path}")


@contextmanager
def stream_of(stage: Stage, member: Member) -> Iterator[Connection]:
    """The member's WebSocket stream (``/v1/stream``) as its treasurer sees it, subscribed."""
    member.session.get("/v1/risk/agreements")  # a fresh access token
    url = stage.net.gateway_url.replace("https://", "wss://", 1) + "/v1/stream"
    tls = ssl.create_default_context(cafile=str(stage.net.dir.tls_cert)) if url.startswith("wss://") else None
    headers = {"Authorization": f"Bearer {member.session.creds.access_token}"}
    with connect(url, ssl=tls, additional_headers=headers, open_timeout=STREAM_SECONDS) as ws:
        if json.loads(ws.recv(timeout=STREAM_SECONDS)).get("type") != "subscribed":
            raise DemoError(f"{member.name}: the stream did not subscribe")
        yield ws


def seen_live(stage: Stage, ws: Connection, repo: RepoRecord) -> list[str]:
    """Wait for the call to show on the stream: the chain's ``repo.MarginCalled`` and the risk service's
    ``risk.exposure`` with the repo among the calls due. Answers the event types seen, in order."""
    seen: list[str] = []
    want = {"repo.MarginCalled", "risk.exposure"}
    deadline = time.monotonic() + STREAM_SECONDS
    while want and time.monotonic() < deadline:
        try:
            event = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        kind = str(event.get("type"))
        if kind == "repo.MarginCalled" and event.get("repo_id") == repo.repo_id:
            want.discard(kind)
            seen.append(kind)
        elif kind == "risk.exposure" and repo.repo_id in event.get("calls_due", []):
            want.discard(kind)
            seen.append(kind)
    if want:
        raise DemoError(f"{repo.label}: not seen live on the stream: {sorted(want)}")
    return seen


def price_falls_in_the_feed(stage: Stage, repo: RepoRecord, percent: str) -> float:
    """A quote lands in the feed's CSV drop; the feed posts it, the risk service calls margin. Answers the seconds
    from the drop to the call on chain. The file is removed once the call is seen (the price stays posted)."""
    drop = _drop_dir(stage)
    drop.mkdir(parents=True, exist_ok=True)
    name = drop / f"demo-{stage.tag.lower()}.csv"
    tmp = name.with_suffix(".tmp")
    tmp.write_text(
        "asset,quote,price_percent_of_par,timestamp\n"
        f"{stage.gov.address},{stage.cash.address},{percent},{int(time.time())}\n"
    )
    started = time.monotonic()
    tmp.replace(name)  # a writer drops a file by renaming it into place
    stage.say(f"a price source drops {stage.gov.symbol} at {percent} into {name.name}; nobody calls anything")
    try:
        deadline = started + AUTO_CALL_SECONDS
        while STATUS[int(stage.engine.functions.getRepo(repo.repo_id).call()[8])] != "MARGIN_CALLED":
            if time.monotonic() > deadline:
                raise DemoError(f"{repo.label}: the risk service did not call margin within {AUTO_CALL_SECONDS:.0f} s")
            time.sleep(0.5)
    finally:
        name.unlink(missing_ok=True)
    stage.prices[stage.gov.symbol] = percent
    stage.gateway_steps.append("price posting (the price feed's key, POST /v1/risk/feed/prices)")
    stage.gateway_steps.append("margin call (the risk service, POST /v1/risk/margin-calls)")
    return time.monotonic() - started


def stress_report(stage: Stage, member: Member) -> Path:
    """The member's stress report (every collateral −5%, −10%, −20%) written to ``reports/`` in the data dir."""
    ladder = [{"name": f"collateral {bps / 100:+.0f}%", "shocks": [{"kind": "instrument", "target": "*", "bps": bps}]}
              for bps in (-500, -1000, -2000)]  # fmt: skip
    report = member.session.post("/v1/risk/stress", body={"scenarios": ladder})
    out = stage.net.dir.path / "reports" / f"stress-{stage.tag.lower()}-{member.key}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    for scenario in report["scenarios"]:
        totals = next((t for t in scenario["totals"] if t["cash_token"].lower() == stage.cash.address.lower()), None)
        if totals is not None:
            stage.say(
                f"{scenario['name']}: calls {member.name} would make {Decimal(totals['calls_to_make']):,.2f}, "
                f"shortfall {Decimal(totals['shortfall']):,.2f} {stage.cash.symbol}"
            )
    stage.say(f"stress report written to {out}")
    return out
