"""What every chapter of the demo acts on: the network (gateway sessions, JSON-RPC, the contracts), the story's
members and repos, its narration, and the steps chapters share — posting a price, issuing cash, a party's lifecycle
step, waiting for a settlement or for the chain's clock. Each step goes through the gateway when it has the route,
else over JSON-RPC with a key the demo holds, and the stage records which way it went.

Chapters (``onboarding``, ``issuance``, ``trading``, ``coupon``, ``fx``, ``lifecycle``, ``audit_trail``,
``summary``) are functions of a stage; ``story.Story`` is the stage that tells them in order."""

from __future__ import annotations

import secrets
import time
from decimal import Decimal
from typing import Any

from rich.console import Console
from web3 import Web3

from contracts.deploy import contract
from gateway.datadir import TokenInfo
from gateway.demo.exceptions import DemoError
from gateway.demo.records import Member, RepoRecord
from gateway.ops.chain import from_units, price_to_raw, send, send_tx, to_units
from gateway.ops.client import SettlementFailed, UserSession, wait_settlement
from gateway.ops.network import Network

MAX_UINT = 2**256 - 1
POLL_SECONDS = 0.25
SETTLE_TIMEOUT = 90.0


def final_settlement(session: UserSession, settlement_id: str | None, what: str) -> dict[str, Any] | None:
    """Wait for an outbox settlement the gateway answered with (a registry or anchor write) to be final."""
    if settlement_id is None:
        return None
    try:
        return wait_settlement(session, {"id": settlement_id, "status": "pending"})
    except SettlementFailed as exc:
        raise DemoError(f"{what} did not reach the chain: {exc}") from None


class Stage:
    def __init__(
        self,
        network: Network,
        console: Console,
        *,
        maturity_seconds: int = 40,
        default_after_seconds: int = 15,
        use_gateway_trading: bool = True,
    ) -> None:
        self.use_gateway_trading = use_gateway_trading
        self.net = network
        self.console = console
        self.w3: Web3 = network.w3
        self.state = network.state
        self.tag = secrets.token_hex(2).upper()
        self.maturity_seconds = maturity_seconds
        self.default_after_seconds = default_after_seconds
        self.cash: TokenInfo = self.state.cash_tokens[0]
        self.gov: TokenInfo = self.state.bonds[0]
        self.corp: TokenInfo = self.state.bonds[1]
        self.engine = contract(self.w3, "RepoEngine", network.contract_address("repo_engine"))
        self.oracle = contract(self.w3, "PriceOracle", network.contract_address("price_oracle"))
        self.registry = contract(self.w3, "IdentityRegistry", network.contract_address("identity_registry"))
        self.issuer = network.issuer
        self.members: dict[str, Member] = {}
        self.repos: list[RepoRecord] = []
        self.start_block = self.w3.eth.block_number
        self.prices: dict[str, str] = {}
        self.ops: UserSession | None = None
        self.gateway_trading = False  # the gateway's RFQ, trade-signing and operator endpoints are there
        self.paths: set[str] = set()
        self.gateway_steps: list[str] = []
        self.chain_steps: list[str] = []  # steps driven over JSON-RPC rather than a gateway endpoint
        self._chapter = 0

    # --- narration --------------------------------------------------------------------------------------------
    def chapter(self, title: str) -> None:
        self._chapter += 1
        self.console.print(f"\n[bold cyan]{self._chapter}. {title}[/bold cyan]")

    def say(self, text: str) -> None:
        self.console.print(f"   {text}", highlight=False)

    def via_chain(self, step: str) -> None:
        if step not in self.chain_steps:
            self.chain_steps.append(step)

    def tok(self, t: TokenInfo) -> Any:
        return contract(self.w3, "CashToken" if t.currency else "BondToken", t.address)

    def amount(self, t: TokenInfo, units: int) -> str:
        return f"{Decimal(from_units(units, t.decimals)):,.2f} {t.symbol}"

    # --- the gateway and the chain ----------------------------------------------------------------------------
    def ops_session(self) -> UserSession:
        assert self.ops is not None
        return self.ops

    def settle(self, answer: dict[str, Any], what: str, session: UserSession | None = None) -> dict[str, Any]:
        """Wait for a settlement the gateway queued (202) to be final."""
        try:
            return wait_settlement(session or self.ops_session(), answer, timeout=SETTLE_TIMEOUT, poll=POLL_SECONDS)
        except SettlementFailed as exc:
            raise DemoError(f"{what}: {exc}") from exc

    def now(self) -> int:
        """The chain's clock: the latest block's timestamp."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def wait_until(self, moment: int, why: str, bond: TokenInfo) -> None:
        wait = moment + 1 - int(time.time())
        if wait > 0:
            self.say(f"[dim]waiting {wait} s for {why}…[/dim]")
            time.sleep(wait)
        # A chain that seals only when there is work keeps an old head timestamp: the feeder's fresh price for
        # the collateral is the next block (and the price a close-out needs anyway).
        while self.now() <= moment:
            self.post_price(bond, self.prices[bond.symbol])

    def last_event(self, name: str, repo: RepoRecord) -> dict[str, Any] | None:
        logs = getattr(self.engine.events, name)().get_logs(
            from_block=self.start_block, argument_filters={"repoId": repo.repo_id}
        )
        return dict(logs[-1]["args"]) if logs else None

    # --- steps the chapters share -----------------------------------------------------------------------------
    def issue_cash(self, t: TokenInfo, to: str, amount: str, who: str) -> None:
        """Cash issued to a member: through the gateway's operator endpoint when it has it, else the issuer key."""
        if self.gateway_trading:
            body = {"token": t.address, "wallet": to, "amount": amount}
            self.settle(self.ops_session().post("/v1/operator/cash/issue", body=body), "cash issue")
            self.say(f"operator issues {self.amount(t, to_units(amount, t.decimals))} to {who} (gateway)")
            self.gateway_steps.append("cash issuance (POST /v1/operator/cash/issue)")
            return
        send(self.w3, self.issuer, self.tok(t).functions.mint(to, to_units(amount, t.decimals)), f"mint {t.symbol}")
        self.say(f"issuer mints {self.amount(t, to_units(amount, t.decimals))} to {who}")
        self.via_chain("cash issuance (issuer key, mint)")

    def post_price(self, bond: TokenInfo, percent: str) -> None:
        self.prices[bond.symbol] = percent
        if self.gateway_trading:
            body = {"asset": bond.address, "quote": self.cash.address, "price_percent_of_par": percent}
            self.settle(self.ops_session().post("/v1/operator/prices", body=body), "price")
            self.gateway_steps.append("price posting (POST /v1/operator/prices)")
            return
        raw = price_to_raw(percent, bond.decimals, self.cash.decimals)
        send(
            self.w3,
            self.net.feeder,
            self.oracle.functions.setPrice(bond.address, self.cash.address, raw),
            f"price {bond.symbol}",
        )
        self.via_chain("price posting (feeder key, PriceOracle.setPrice)")

    def party_step(
        self, member: Member, route: str, repo: RepoRecord, body: dict[str, Any] | None, what: str, chain_call: Any
    ) -> None:
        """One lifecycle step: through the gateway when it has the route (a custodial wallet's step is sent by the
        relayer; a self-held wallet gets the prepared transaction, checks it and signs it), else straight to the
        engine with the member's own key."""
        if self.gateway_trading and route in self.paths:
            answer = member.session.post(route.format(repo_id=repo.repo_id), body=body)
            tx = answer.get("transaction")
            if tx:
                if (
                    str(tx["from"]).lower() != member.wallet.address.lower()
                    or str(tx["to"]).lower() != self.engine.address.lower()
                ):
                    raise DemoError(f"{member.name} refuses to sign {what}: prepared for {tx['from']} → {tx['to']}")
                send_tx(self.w3, member.wallet, tx["to"], tx["data"], what)
                self.gateway_steps.append(f"{what} (prepared by the gateway, signed by the member's own wallet)")
            else:
                self.settle(answer, what, session=member.session)
                self.gateway_steps.append(f"{what} (sent by the gateway's relayer)")
            return
        send(self.w3, member.wallet, chain_call, what)
        self.via_chain(f"{what} (the member's own key, straight to the engine)")
