"""The demo's lifecycle chapters after the open: the price falls and a margin call is cured, a repo is not repurchased
and is defaulted and closed out, and a repo matures and is repurchased. ``repurchased_at_maturity`` is shared with
the cross-currency chapter (``fx``)."""

from __future__ import annotations

import math
from typing import Any

from gateway.demo import risk
from gateway.demo.exceptions import DemoError
from gateway.demo.records import STATUS, RepoRecord
from gateway.demo.stage import Stage
from gateway.ops.chain import from_units, price_to_raw


def price_falls_and_margin(stage: Stage, repo: RepoRecord, *, automatic: bool = False) -> None:
    """``automatic``: the price falls in the feed and the risk service calls (``gateway.demo.risk``); else the
    price is posted and Fund B calls by hand."""
    a, b = stage.members["a"], stage.members["b"]
    if automatic:
        stage.chapter("The price falls: the risk service's margin call, cured")
        with risk.stream_of(stage, b) as ws:
            seconds = risk.price_falls_in_the_feed(stage, repo, "96")
            live = risk.seen_live(stage, ws, repo)
        exposure = int(stage.engine.functions.exposure(repo.repo_id).call())
        outstanding = int(stage.engine.functions.getRepo(repo.repo_id).call()[20])
        stage.say(
            f"the feed posts {stage.gov.symbol} 96.00; {repo.label}'s exposure {stage.amount(stage.cash, exposure)} "
            f"passes the agreement's threshold + minimum transfer, and [bold]the risk service calls margin for "
            f"{b.name}[/bold] {seconds:.1f} s after the drop: {stage.amount(stage.cash, outstanding)} due"
        )
        stage.say(f"live on {b.name}'s WebSocket stream: {', '.join(live)} (calls due, cure deadline)")
    else:
        stage.chapter("The price falls: a margin call, cured")
        stage.post_price(stage.gov, "96")
        exposure = int(stage.engine.functions.exposure(repo.repo_id).call())
        stage.say(
            f"{stage.gov.symbol} falls to 96.00; exposure of {repo.label} is now "
            f"{stage.amount(stage.cash, max(exposure, 0))} (above the 10,000 threshold)"
        )
        stage.party_step(
            b,
            "/v1/repos/{repo_id}/margin-call",
            repo,
            None,
            "margin call",
            stage.engine.functions.callMargin(repo.repo_id),
        )
        outstanding = int(stage.engine.functions.getRepo(repo.repo_id).call()[20])
        stage.say(f"{b.name} calls margin: {stage.amount(stage.cash, outstanding)} due within 10 minutes")
    data = stage.engine.functions.getRepo(repo.repo_id).call()
    price = price_to_raw("96", stage.gov.decimals, stage.cash.decimals)
    haircut = int(data[7])
    units = math.ceil(outstanding * 10**18 * 10_000 / (price * (10_000 - haircut)))
    units = (units * 101 + 99) // 100
    body = {"collateral_amount": from_units(units, stage.gov.decimals), "cash_amount": "0"}
    stage.party_step(
        a,
        "/v1/repos/{repo_id}/margin",
        repo,
        body,
        "margin posting",
        stage.engine.functions.postMargin(repo.repo_id, units, 0),
    )
    status = STATUS[int(stage.engine.functions.getRepo(repo.repo_id).call()[8])]
    if status != "OPEN":
        raise DemoError(f"{repo.label}: margin posted but the repo is {status}")
    stage.say(
        f"{a.name} posts {stage.amount(stage.gov, units)} more collateral: "
        f"[green]margin call cured[/green], the repo is OPEN again"
    )


def default_and_close_out(stage: Stage, repo: RepoRecord) -> None:
    stage.chapter(f"{repo.label} is not repurchased: default and close-out")
    a, b = stage.members["a"], stage.members["b"]
    stage.wait_until(repo.maturity + repo.grace, "maturity and grace to pass", stage.corp)
    stage.party_step(
        b, "/v1/repos/{repo_id}/default", repo, None, "default", stage.engine.functions.declareDefault(repo.repo_id)
    )
    status = STATUS[int(stage.engine.functions.getRepo(repo.repo_id).call()[8])]
    stage.say(f"{a.name} did not pay at maturity; after the grace period {b.name} declares the default ({status})")
    stage.party_step(
        b, "/v1/repos/{repo_id}/close-out", repo, None, "close-out", stage.engine.functions.closeOut(repo.repo_id)
    )
    args = stage.last_event("RepoClosedOut", repo)
    if args:
        stage.say(
            f"close-out: {b.name} keeps {stage.amount(stage.corp, args['collateralToHolder'])} "
            f"worth what was owed ({stage.amount(stage.cash, args['owed'])}); "
            f"{stage.amount(stage.corp, args['collateralToSeller'])} returns to {a.name}"
        )
    shortfall = int(stage.engine.functions.shortfallOf(repo.repo_id).call())
    stage.say("no shortfall" if shortfall == 0 else f"shortfall recorded: {stage.amount(stage.cash, shortfall)}")


def repurchased_at_maturity(stage: Stage, repo: RepoRecord, step: str) -> dict[str, Any]:
    """Bank A repurchases ``repo`` once it matures; the engine's RepoRepurchased arguments."""
    stage.wait_until(repo.maturity, "maturity", stage.gov)
    stage.party_step(
        stage.members["a"],
        "/v1/repos/{repo_id}/repurchase",
        repo,
        None,
        step,
        stage.engine.functions.repurchase(repo.repo_id),
    )
    args = stage.last_event("RepoRepurchased", repo)
    if args is None:
        raise DemoError(f"{repo.label}: no RepoRepurchased event")
    return args


def repurchase(stage: Stage, repo: RepoRecord) -> None:
    stage.chapter(f"{repo.label} matures: repurchase")
    a = stage.members["a"]
    args = repurchased_at_maturity(stage, repo, "repurchase")
    paid, back = int(args["repurchasePrice"]), int(args["collateralReturned"])
    stage.say(
        f"{a.name} pays the repurchase price {stage.amount(stage.cash, paid)} "
        f"(price differential {stage.amount(stage.cash, paid - repo.purchase_price)}); "
        f"{stage.amount(stage.gov, back)} collateral returns; the position NFT is burned"
    )
    stage.post_price(stage.gov, "100")
