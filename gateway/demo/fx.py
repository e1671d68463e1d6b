"""The demo's cross-currency chapters: a repo in EUR against the USD government bond (GMRA: the repo's contractual
currency is the cash token's; the collateral is valued in it through the oracle's USD/EUR pair, with the FX haircut
on top of the agreed one). It opens like any repo, is margined when the bond's price falls (the same fall that
margins the USD repo), and is repurchased in EUR; every value is printed in the repo's currency.

Kept apart from ``story.py`` so the story stays a sequence of chapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.demo.exceptions import DemoError
from gateway.demo.specs import TradeSpec
from gateway.ops.chain import from_units, send, to_units
from gateway.orchestrator.state import TokenInfo

if TYPE_CHECKING:
    from gateway.demo.story import RepoRecord, Story

LABEL = "Repo 3 (EUR)"
PURCHASE_PRICE = "830000"  # EUR, against 1,000,000 nominal of the USD bond (≈ 846,400 EUR after both haircuts)
COLLATERAL = "1000000"
MAX_UINT = 2**256 - 1


def eur_cash(story: Story) -> TokenInfo | None:
    return next((t for t in story.state.cash_tokens if t.currency == "EUR"), None)


def _values(story: Story, repo: RepoRecord, eur: TokenInfo) -> str:
    value = int(story.engine.functions.collateralValue(repo.repo_id).call())
    exposure = int(story.engine.functions.exposure(repo.repo_id).call())
    return (
        f"collateral after haircuts {story.amount(eur, value)}, exposure "
        f"{'-' if exposure < 0 else ''}{story.amount(eur, abs(exposure))}"
    )


def open_eur_repo(story: Story) -> RepoRecord | None:
    """Bank A borrows EUR from Fund B against the USD bond (issued for this chapter), through the gateway's RFQ."""
    eur = eur_cash(story)
    if eur is None:
        story.say("[dim]no EUR cash token on this network: no cross-currency repo[/dim]")
        return None
    story.chapter(f"A repo in {eur.symbol} against the USD bond {story.gov.symbol}")
    a, b = story.members["a"], story.members["b"]
    for member, amount in ((b, "1000000"), (a, "50000")):
        story.issue_cash(eur, member.wallet.address, amount, member.name)
    units = to_units(COLLATERAL, story.gov.decimals)
    send(story.w3, story.issuer, story.tok(story.gov).functions.mint(a.wallet.address, units), "mint for EUR repo")
    story.via_chain("bond issuance (issuer key, mint)")
    for member in (a, b):
        send(
            story.w3,
            member.wallet,
            story.tok(eur).functions.approve(story.engine.address, MAX_UINT),
            f"{member.name}: approve the engine for {eur.symbol}",
        )
    cross, fx_haircut = story.oracle.functions.fxTermsOf(story.gov.address, eur.address).call()[:2]
    if not cross:
        raise DemoError(f"the oracle does not value {story.gov.symbol} in {eur.symbol} through an FX pair")
    story.say(
        f"{a.name} asks for {PURCHASE_PRICE} {eur.symbol} against {COLLATERAL} {story.gov.symbol} (priced in USD); "
        f"the oracle values the bond in EUR through USD/EUR with a {fx_haircut / 100:.0f}% FX haircut on top of "
        "the agreed haircut"
    )
    spec = TradeSpec(LABEL, story.gov, COLLATERAL, PURCHASE_PRICE, "3.60", 200, story.maturity_seconds, 3600, eur)
    record = story._trade_via_gateway(spec) if story.gateway_trading else story._trade_on_chain(spec)
    data = story.engine.functions.getRepo(record.repo_id).call()
    record.purchase_price, record.maturity, record.grace = int(data[4]), int(data[10]), int(data[13])
    story.repos.append(record)
    story.say(
        f"{LABEL} (#{record.repo_id}) is open: {a.name} delivered {story.amount(story.gov, int(data[17]))} and "
        f"received {story.amount(eur, record.purchase_price)}; {_values(story, record, eur)}"
    )
    return record


def margin_eur_repo(story: Story, repo: RepoRecord) -> None:
    """The bond's fall (posted in USD) lowers its EUR value too: Fund B calls margin, Bank A cures it in EUR."""
    eur = eur_cash(story)
    assert eur is not None
    story.chapter(f"{LABEL}: the USD bond's fall, valued in EUR, calls margin")
    a, b = story.members["a"], story.members["b"]
    story.say(f"at {story.gov.symbol} {story.prices[story.gov.symbol]}: {_values(story, repo, eur)}")
    story.party_step(
        b,
        "/v1/repos/{repo_id}/margin-call",
        repo,
        None,
        "margin call (EUR repo)",
        story.engine.functions.callMargin(repo.repo_id),
    )
    outstanding = int(story.engine.functions.getRepo(repo.repo_id).call()[20])
    story.say(f"{b.name} calls margin: {story.amount(eur, outstanding)} due")
    body = {"collateral_amount": "0", "cash_amount": from_units(outstanding, eur.decimals)}
    story.party_step(
        a,
        "/v1/repos/{repo_id}/margin",
        repo,
        body,
        "margin posting (EUR repo)",
        story.engine.functions.postMargin(repo.repo_id, 0, outstanding),
    )
    status = int(story.engine.functions.getRepo(repo.repo_id).call()[8])
    if status != 1:
        raise DemoError(f"{LABEL}: margin posted but the repo's status is {status}")
    story.say(f"{a.name} posts {story.amount(eur, outstanding)} cash margin: [green]cured[/green]")


def repurchase_eur_repo(story: Story, repo: RepoRecord) -> None:
    eur = eur_cash(story)
    assert eur is not None
    story.chapter(f"{LABEL} matures: repurchase in {eur.symbol}")
    a = story.members["a"]
    args = story.repurchased_at_maturity(repo, "repurchase (EUR repo)")
    paid, margin = int(args["repurchasePrice"]), int(args["cashMarginApplied"])
    story.say(
        f"{a.name} pays the repurchase price {story.amount(eur, paid)} (price differential "
        f"{story.amount(eur, paid - repo.purchase_price)}, of which {story.amount(eur, margin)} from its cash "
        f"margin); {story.amount(story.gov, int(args['collateralReturned']))} returns"
    )
