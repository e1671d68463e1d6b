"""The demo's cross-currency chapters: a repo in EUR against the USD government bond (GMRA: the repo's contractual
currency is the cash token's; the collateral is valued in it through the oracle's USD/EUR pair, with the FX haircut
on top of the agreed one). It opens like any repo, is margined when the bond's price falls (the same fall that
margins the USD repo), and is repurchased in EUR; every value is printed in the repo's currency."""

from __future__ import annotations

import time

from gateway.datadir import TokenInfo
from gateway.demo.exceptions import DemoError
from gateway.demo.lifecycle import repurchased_at_maturity
from gateway.demo.records import STATUS, RepoRecord
from gateway.demo.specs import TradeSpec
from gateway.demo.stage import MAX_UINT, Stage
from gateway.demo.trading import open_repo
from gateway.ops.chain import from_units, send, to_units

LABEL = "Repo 3 (EUR)"
PURCHASE_PRICE = "830000"  # EUR, against 1,000,000 nominal of the USD bond (≈ 846,400 EUR after both haircuts)
COLLATERAL = "1000000"
SERVICE_WAIT_SECONDS = 20.0  # the risk service calls every due repo in the tick that saw the fall


def eur_cash(stage: Stage) -> TokenInfo | None:
    return next((t for t in stage.state.cash_tokens if t.currency == "EUR"), None)


def _values(stage: Stage, repo: RepoRecord, eur: TokenInfo) -> str:
    value = int(stage.engine.functions.collateralValue(repo.repo_id).call())
    exposure = int(stage.engine.functions.exposure(repo.repo_id).call())
    return (
        f"collateral after haircuts {stage.amount(eur, value)}, exposure "
        f"{'-' if exposure < 0 else ''}{stage.amount(eur, abs(exposure))}"
    )


def open_eur_repo(stage: Stage) -> RepoRecord | None:
    """Bank A borrows EUR from Fund B against the USD bond (issued for this chapter), through the gateway's RFQ."""
    eur = eur_cash(stage)
    if eur is None:
        stage.say("[dim]no EUR cash token on this network: no cross-currency repo[/dim]")
        return None
    stage.chapter(f"A repo in {eur.symbol} against the USD bond {stage.gov.symbol}")
    a, b = stage.members["a"], stage.members["b"]
    for member, amount in ((b, "1000000"), (a, "50000")):
        stage.issue_cash(eur, member.wallet.address, amount, member.name)
    units = to_units(COLLATERAL, stage.gov.decimals)
    send(stage.w3, stage.issuer, stage.tok(stage.gov).functions.mint(a.wallet.address, units), "mint for EUR repo")
    stage.via_chain("bond issuance (issuer key, mint)")
    for member in (a, b):
        send(
            stage.w3,
            member.wallet,
            stage.tok(eur).functions.approve(stage.engine.address, MAX_UINT),
            f"{member.name}: approve the engine for {eur.symbol}",
        )
    cross, fx_haircut = stage.oracle.functions.fxTermsOf(stage.gov.address, eur.address).call()[:2]
    if not cross:
        raise DemoError(f"the oracle does not value {stage.gov.symbol} in {eur.symbol} through an FX pair")
    stage.say(
        f"{a.name} asks for {PURCHASE_PRICE} {eur.symbol} against {COLLATERAL} {stage.gov.symbol} (priced in USD); "
        f"the oracle values the bond in EUR through USD/EUR with a {fx_haircut / 100:.0f}% FX haircut on top of "
        "the agreed haircut"
    )
    spec = TradeSpec(LABEL, stage.gov, COLLATERAL, PURCHASE_PRICE, "3.60", 200, stage.maturity_seconds, 3600, eur)
    record = open_repo(stage, spec)
    stage.say(
        f"{LABEL} (#{record.repo_id}) is open: {a.name} delivered "
        f"{stage.amount(stage.gov, record.collateral_in_escrow)} and "
        f"received {stage.amount(eur, record.purchase_price)}; {_values(stage, record, eur)}"
    )
    return record


def _called(stage: Stage, repo: RepoRecord) -> bool:
    return STATUS[int(stage.engine.functions.getRepo(repo.repo_id).call()[8])] == "MARGIN_CALLED"


def _service_called(stage: Stage, repo: RepoRecord) -> bool:
    """Whether the risk service called the EUR repo on the same fall (it nets it into the USD agreement through
    the oracle's EUR/USD rate); its tick calls every due repo at once, so a short wait is enough."""
    deadline = time.monotonic() + SERVICE_WAIT_SECONDS
    while not _called(stage, repo):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def margin_eur_repo(stage: Stage, repo: RepoRecord, *, automatic: bool = False) -> None:
    """The bond's fall (posted in USD) lowers its EUR value too: margin is called (by the risk service when it runs
    and the repo is due on its own, else by Fund B by hand), Bank A cures it in EUR."""
    eur = eur_cash(stage)
    assert eur is not None
    stage.chapter(f"{LABEL}: the USD bond's fall, valued in EUR, calls margin")
    a, b = stage.members["a"], stage.members["b"]
    stage.say(f"at {stage.gov.symbol} {stage.prices[stage.gov.symbol]}: {_values(stage, repo, eur)}")
    if automatic and _service_called(stage, repo):
        stage.say("the risk service called it on the same fall, netted in USD under the agreement (no manual step)")
        stage.gateway_steps.append("margin call (EUR repo, the risk service, POST /v1/risk/margin-calls)")
    else:
        try:
            stage.party_step(
                b,
                "/v1/repos/{repo_id}/margin-call",
                repo,
                None,
                "margin call (EUR repo)",
                stage.engine.functions.callMargin(repo.repo_id),
            )
        except DemoError:
            if not (automatic and _called(stage, repo)):  # the service may have called it just before
                raise
    outstanding = int(stage.engine.functions.getRepo(repo.repo_id).call()[20])
    stage.say(f"{b.name} calls margin: {stage.amount(eur, outstanding)} due")
    body = {"collateral_amount": "0", "cash_amount": from_units(outstanding, eur.decimals)}
    stage.party_step(
        a,
        "/v1/repos/{repo_id}/margin",
        repo,
        body,
        "margin posting (EUR repo)",
        stage.engine.functions.postMargin(repo.repo_id, 0, outstanding),
    )
    status = int(stage.engine.functions.getRepo(repo.repo_id).call()[8])
    if status != 1:
        raise DemoError(f"{LABEL}: margin posted but the repo's status is {status}")
    stage.say(f"{a.name} posts {stage.amount(eur, outstanding)} cash margin: [green]cured[/green]")


def repurchase_eur_repo(stage: Stage, repo: RepoRecord) -> None:
    eur = eur_cash(stage)
    assert eur is not None
    stage.chapter(f"{LABEL} matures: repurchase in {eur.symbol}")
    a = stage.members["a"]
    args = repurchased_at_maturity(stage, repo, "repurchase (EUR repo)")
    paid, margin = int(args["repurchasePrice"]), int(args["cashMarginApplied"])
    stage.say(
        f"{a.name} pays the repurchase price {stage.amount(eur, paid)} (price differential "
        f"{stage.amount(eur, paid - repo.purchase_price)}, of which {stage.amount(eur, margin)} from its cash "
        f"margin); {stage.amount(stage.gov, int(args['collateralReturned']))} returns"
    )
