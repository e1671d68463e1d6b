"""The demo's ending: the members' and the escrow's balances on chain, each repo's timeline of engine events, which
steps went through the gateway and which over JSON-RPC, and the result ``--json`` prints."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from rich.table import Table

from gateway.demo import fx
from gateway.demo.records import EVENTS, STATUS, DemoResult, RepoRecord
from gateway.demo.stage import Stage
from gateway.ops.chain import from_units


def timeline(stage: Stage, repo: RepoRecord) -> None:
    for name in EVENTS:
        for log in getattr(stage.engine.events, name)().get_logs(
            from_block=stage.start_block, argument_filters={"repoId": repo.repo_id}
        ):
            repo.timeline.append((int(log["blockNumber"]), int(log["logIndex"]), name))
    repo.timeline.sort()
    repo.status = STATUS[int(stage.engine.functions.getRepo(repo.repo_id).call()[8])]


def _time_of(stage: Stage, block: int) -> str:
    stamp = int(stage.w3.eth.get_block(block)["timestamp"])
    return time.strftime("%H:%M:%S", time.gmtime(stamp))


def summary(stage: Stage, audit: dict[str, Any]) -> DemoResult:
    stage.chapter("Where everything ended")
    eur = fx.eur_cash(stage)
    tokens = [stage.cash, *([eur] if eur is not None else []), stage.gov, stage.corp]
    table = Table(title="Balances on chain")
    table.add_column("member")
    table.add_column("wallet")
    for t in tokens:
        table.add_column(t.symbol, justify="right")
    members: dict[str, dict[str, Any]] = {}
    rows: list[tuple[str, str]] = [(m.name, m.wallet.address) for m in stage.members.values()]
    rows.append(("repo engine (escrow)", stage.engine.address))
    for name, address in rows:
        balances = {t.symbol: int(stage.tok(t).functions.balanceOf(address).call()) for t in tokens}
        table.add_row(name, address, *(f"{Decimal(from_units(balances[t.symbol], t.decimals)):,.2f}" for t in tokens))
        members[name] = {"address": address, "balances": {k: str(v) for k, v in balances.items()}}
    stage.console.print(table)
    repos: list[dict[str, Any]] = []
    timelines = Table(title="Repo timelines")
    timelines.add_column("repo")
    timelines.add_column("status")
    timelines.add_column("events (UTC block time)")
    for repo in stage.repos:
        timeline(stage, repo)
        events = "  →  ".join(
            f"{_time_of(stage, block)} {name.removeprefix('Repo')}" for block, _, name in repo.timeline
        )
        timelines.add_row(f"{repo.label} #{repo.repo_id}", repo.status, events)
        repos.append(
            {
                "label": repo.label,
                "repo_id": repo.repo_id,
                "status": repo.status,
                "events": [{"block": b, "log_index": i, "event": n} for b, i, n in repo.timeline],
            }
        )
    stage.console.print(timelines)
    if stage.gateway_steps:
        stage.console.print("[dim]Through the gateway: " + "; ".join(dict.fromkeys(stage.gateway_steps)) + "[/dim]")
    if stage.chain_steps:
        stage.console.print(
            "[dim]Sent over JSON-RPC, not through the gateway (self-held wallets send their own "
            "transactions; the issuer key where the gateway has no endpoint): "
            + "; ".join(stage.chain_steps)
            + "[/dim]"
        )
    return DemoResult(
        tag=stage.tag,
        members=members,
        repos=repos,
        audit=audit,
        chain_steps=stage.chain_steps,
        gateway_steps=list(dict.fromkeys(stage.gateway_steps)),
    )
