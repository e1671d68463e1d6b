"""The demo story, told step by step against a running network.

Onboarding, KYC and wallet linking, and the audit trail go through the gateway's HTTPS API. Issuing cash and
bonds, prices and the repo lifecycle go over JSON-RPC with keys the demo holds: the issuer key ``up`` created,
and a self-held wallet per member that the member links to the gateway with Sign-In with Ethereum (the
gateway's trading and settlement endpoints take these steps over as they land). Every run onboards two new
members, so the demo can run again on the same network and leaves it usable; their wallet keys are kept in the
data directory (``secrets/demo-wallets.json``).
"""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from web3 import Web3

from contracts import eip712
from contracts.deploy import contract
from gateway.demo import fx
from gateway.demo.coupon import coupon_reaches_seller
from gateway.demo.exceptions import DemoError
from gateway.demo.specs import TradeSpec
from gateway.members.validation import lei_with_check_digits
from gateway.ops.chain import ensure_gas, from_units, price_to_raw, send, send_tx, to_units
from gateway.ops.client import ApiError, Credentials, SettlementFailed, UserSession, wait_settlement
from gateway.ops.network import COMPLIANCE_USER, OPS_USER, Network
from gateway.orchestrator.state import TokenInfo

MAX_UINT = 2**256 - 1
RATE_SCALE = 10**18
STATUS = ["NONE", "OPEN", "MARGIN_CALLED", "DEFAULTED", "REPURCHASED", "CLOSED_OUT"]
EVENTS = (
    "RepoOpened",
    "MarginCalled",
    "MarginPosted",
    "MarginCallCured",
    "CouponManufactured",
    "RepoRepurchased",
    "RepoDefaulted",
    "RepoClosedOut",
    "RepoShortfallRecorded",
)
DEMO_WALLETS = "demo-wallets.json"


def final_settlement(session: UserSession, settlement_id: str | None, what: str) -> dict[str, Any] | None:
    """Wait for an outbox settlement the gateway answered with (a registry or anchor write) to be final."""
    if settlement_id is None:
        return None
    try:
        return wait_settlement(session, {"id": settlement_id, "status": "pending"})
    except SettlementFailed as exc:
        raise DemoError(f"{what} did not reach the chain: {exc}") from None


@dataclass
class Member:
    key: str
    name: str
    lei: str
    session: UserSession
    wallet: LocalAccount
    org_id: str = ""
    custodial: str = ""
    wallet_id: str = ""


@dataclass
class RepoRecord:
    label: str
    repo_id: int
    seller: str
    buyer: str
    timeline: list[tuple[int, int, str]] = field(default_factory=list)
    status: str = ""
    maturity: int = 0
    grace: int = 0
    purchase_price: int = 0
    trade_id: str = ""


@dataclass
class DemoResult:
    tag: str
    members: dict[str, dict[str, Any]]
    repos: list[dict[str, Any]]
    audit: dict[str, Any]
    chain_steps: list[str]
    gateway_steps: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "members": self.members,
            "repos": self.repos,
            "audit": self.audit,
            "chain_steps": self.chain_steps,
            "gateway_steps": self.gateway_steps,
        }


POLL_SECONDS = 0.25
SETTLE_TIMEOUT = 90.0


class Story:
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

    # --- the story --------------------------------------------------------------------------------------------
    def run(self) -> DemoResult:
        ops = self.net.session(OPS_USER)
        compliance = self.net.session(COMPLIANCE_USER)
        self.ops = ops
        paths = set(self.net.gateway.get("/openapi.json").get("paths", {}))
        self.paths = paths
        needed = {
            "/v1/rfqs",
            "/v1/rfqs/{rfq_id}/quotes",
            "/v1/rfqs/{rfq_id}/accept",
            "/v1/trades/{trade_id}",
            "/v1/trades/{trade_id}/typed-data",
            "/v1/trades/{trade_id}/signature",
            "/v1/operator/cash/issue",
            "/v1/operator/prices",
            "/v1/settlements/{settlement_id}",
        }
        self.gateway_trading = needed <= paths and self.use_gateway_trading
        self.onboard(ops, compliance)
        self.issue()
        repo1, repo2 = self.trade()
        coupon_reaches_seller(self, repo1)
        repo3 = fx.open_eur_repo(self)
        self.price_falls_and_margin(repo1)
        if repo3 is not None:
            fx.margin_eur_repo(self, repo3)
        self.default_and_close_out(repo2)
        self.repurchase(repo1)
        if repo3 is not None:
            fx.repurchase_eur_repo(self, repo3)
        audit = self.audit(compliance)
        return self.summary(audit)

    def join(self, inviter: UserSession, org_id: str, email: str, full_name: str, role: str) -> UserSession:
        """``inviter`` invites a person into the organization; the person accepts with a password of their own and
        enrols TOTP (the invitation's token is all that passes between them)."""
        invitation = inviter.post(
            f"/v1/organizations/{org_id}/invitations", body={"email": email, "full_name": full_name, "role": role}
        )
        session = UserSession(self.net.gateway, Credentials(email=email, password=secrets.token_urlsafe(18)))
        session.accept_invitation(invitation["token"])
        session.confirm()
        return session

    def onboard(self, ops: UserSession, compliance: UserSession) -> None:
        self.chapter("Two banks are onboarded and KYC-approved")
        stored = self.net.dir.read_json_secret(DEMO_WALLETS)
        for key, label in (("a", "Bank A"), ("b", "Fund B")):
            name = f"{label} plc" if key == "a" else f"{label} LLC"
            name = f"{name} (demo {self.tag})"
            lei = lei_with_check_digits(f"DEMO{self.tag}{key.upper()}".ljust(18, "0"))
            org = ops.post("/v1/organizations", body={"name": name, "lei": lei, "jurisdiction": "GB"})
            admin = self.join(
                ops, org["id"], f"admin-{key}-{self.tag.lower()}@demo.example", f"{label} admin", "member_admin"
            )
            email = f"treasury-{key}-{self.tag.lower()}@demo.example"
            session = self.join(admin, org["id"], email, f"{label} treasurer", "approver")
            wallet: LocalAccount = Account.create()
            member = Member(key=key, name=name, lei=lei, session=session, wallet=wallet, org_id=str(org["id"]))
            self.members[key] = member
            stored[f"{self.tag}-{key}"] = {
                "organization": name,
                "address": wallet.address,
                "private_key": "0x" + bytes(wallet.key).hex(),
            }
            self.net.dir.write_json_secret(DEMO_WALLETS, stored)
            self.say(
                f"operator onboards [bold]{name}[/bold] (LEI {lei}) and invites its first administrator, "
                f"who invites the treasurer {email}; each sets a password and enrols TOTP"
            )
            challenge = session.post(
                "/v1/wallets/siwe/challenge", body={"address": wallet.address, "label": "treasury (self-held)"}
            )
            signature = Account.sign_message(encode_defunct(text=challenge["message"]), wallet.key).signature
            linked = session.post(
                "/v1/wallets/siwe/verify",
                body={"message": challenge["message"], "signature": "0x" + bytes(signature).hex()},
            )
            member.wallet_id = str(linked["id"])
            custodial = session.post("/v1/wallets", body={"label": "custody"})
            member.custodial = custodial["address"]
            self.say(
                f"links its self-held wallet {wallet.address} (Sign-In with Ethereum) "
                f"and opens a custodial wallet {member.custodial}"
            )
            application = session.post(
                "/v1/kyc/applications",
                body={
                    "legal_name": name,
                    "lei": lei,
                    "jurisdiction": "GB",
                    "registered_address": f"{1 + ord(key) - ord('a')} Demo Street, London",
                    "investor_class": 1,
                    "beneficial_owners": [{"name": f"{label} Holdings", "ownership_percent": 100, "nationality": "GB"}],
                    "documents": [{"kind": "certificate_of_incorporation", "sha256": secrets.token_hex(32)}],
                },
            )
            for hit in application.get("hits", []):
                compliance.post(
                    f"/v1/kyc/applications/{application['id']}/hits/{hit['id']}/decision",
                    body={"decision": "false_positive", "note": "demo: different entity"},
                )
            decided = compliance.post(
                f"/v1/kyc/applications/{application['id']}/decision",
                body={"approve": True, "note": "demo: documents verified"},
            )
            final_settlement(compliance, decided.get("settlement_id"), f"{name}: the registration")
            verified = self.registry.functions.isVerified(wallet.address).call()
            if not verified:
                raise DemoError(f"{name}: approved, but its wallet is not verified on chain")
            identity = self.registry.functions.identityOf(wallet.address).call()
            self.say(
                f"KYC application screened, approved by a second person (compliance); "
                f"[green]verified on chain[/green] (identity #{identity})"
            )
            ensure_gas(self.w3, self.net.operator, wallet.address)
        for member in self.members.values():
            for t in (self.cash, self.gov, self.corp):
                send(
                    self.w3,
                    member.wallet,
                    self.tok(t).functions.approve(self.engine.address, MAX_UINT),
                    f"{member.name}: approve the engine for {t.symbol}",
                )
        self.say("both members let the repo engine move their cash and bonds (ERC-20 approvals)")

    def issue(self) -> None:
        self.chapter("Cash and bonds are issued")
        a, b = self.members["a"].wallet.address, self.members["b"].wallet.address
        plan = [
            (self.cash, b, "15000000"),
            (self.cash, a, "50000"),
            (self.gov, a, "10500000"),
            (self.corp, a, "5000000"),
        ]
        for t, to, amount in plan:
            who = self.members["a" if to == a else "b"].name
            if t.currency and self.gateway_trading:
                self.settle(
                    self._ops().post(
                        "/v1/operator/cash/issue", body={"token": t.address, "wallet": to, "amount": amount}
                    ),
                    "cash issue",
                )
                self.say(
                    f"operator issues {self.amount(t, to_units(amount, t.decimals))} to {who} "
                    "(gateway: POST /v1/operator/cash/issue, sent by the settlement relayer)"
                )
                self.gateway_steps.append("cash issuance (POST /v1/operator/cash/issue)")
                continue
            send(self.w3, self.issuer, self.tok(t).functions.mint(to, to_units(amount, t.decimals)), f"mint {t.symbol}")
            self.say(f"issuer mints {self.amount(t, to_units(amount, t.decimals))} to {who}")
            self.via_chain("cash issuance (issuer key, mint)" if t.currency else "bond issuance (issuer key, mint)")
        for bond in (self.gov, self.corp):
            self.post_price(bond, "100")
        self.say(
            f"prices posted: {self.gov.symbol} 100.00, {self.corp.symbol} 100.00 (percent of par, in "
            f"{self.cash.symbol})"
        )

    def issue_cash(self, t: TokenInfo, to: str, amount: str, who: str) -> None:
        """Cash issued to a member: through the gateway's operator endpoint when it has it, else the issuer key."""
        if self.gateway_trading:
            body = {"token": t.address, "wallet": to, "amount": amount}
            self.settle(self._ops().post("/v1/operator/cash/issue", body=body), "cash issue")
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
            self.settle(self._ops().post("/v1/operator/prices", body=body), "price")
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

    def _ops(self) -> UserSession:
        assert self.ops is not None
        return self.ops

    def settle(self, answer: dict[str, Any], what: str, session: UserSession | None = None) -> dict[str, Any]:
        """Wait for a settlement the gateway queued (202) to be final."""
        try:
            return wait_settlement(session or self._ops(), answer, timeout=SETTLE_TIMEOUT, poll=POLL_SECONDS)
        except SettlementFailed as exc:
            raise DemoError(f"{what}: {exc}") from exc

    def _now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def terms(
        self,
        *,
        collateral: TokenInfo,
        collateral_amount: str,
        price: str,
        rate: str,
        haircut: int,
        maturity_in: int,
        grace: int,
        cash: TokenInfo | None = None,
    ) -> eip712.RepoTerms:
        now = max(self._now(), int(time.time()))
        cash = cash or self.cash
        return {
            "seller": self.members["a"].wallet.address,
            "buyer": self.members["b"].wallet.address,
            "cashToken": cash.address,
            "purchasePrice": to_units(price, cash.decimals),
            "rate": int(Decimal(rate) / 100 * RATE_SCALE),
            "dayCountBasis": 360,
            "startTime": now - 1,
            "maturity": now + maturity_in,
            "noticePeriod": 0,
            "collateralToken": collateral.address,
            "collateralAmount": to_units(collateral_amount, collateral.decimals),
            "haircutBps": haircut,
            "minTransferAmount": to_units("10000", cash.decimals),
            "marginCurePeriod": 600,
            "gracePeriod": grace,
            "nonce": secrets.randbits(64),
            "deadline": now + 900,
        }

    def trade(self) -> tuple[RepoRecord, RepoRecord]:
        self.chapter("Request for quote, and the repos open: delivery versus payment in one transaction")
        a, b = self.members["a"].name, self.members["b"].name
        specs = (
            TradeSpec("Repo 1", self.gov, "10000000", "9500000", "3.10", 200, self.maturity_seconds, 3600),
            TradeSpec("Repo 2", self.corp, "5000000", "4500000", "3.40", 500, self.default_after_seconds, 5),
        )
        records: list[RepoRecord] = []
        for spec in specs:
            self.say(
                f"{a} asks {b} for a quote: borrow {Decimal(spec.price):,.0f} {self.cash.symbol} against "
                f"{Decimal(spec.collateral_amount):,.0f} {spec.collateral.symbol} for {spec.term_seconds} s "
                f"(a demo's 'term')"
            )
            self.say(
                f"{b} quotes {spec.rate_percent}% (ACT/360) with a {spec.haircut_bps / 100:.0f}% haircut; "
                f"{a} accepts; both sign the EIP-712 terms with their own wallets"
            )
            record = self._trade_via_gateway(spec) if self.gateway_trading else self._trade_on_chain(spec)
            data = self.engine.functions.getRepo(record.repo_id).call()
            record.purchase_price, record.maturity, record.grace = int(data[4]), int(data[10]), int(data[13])
            self.repos.append(record)
            records.append(record)
            self.say(
                f"{spec.label} (#{record.repo_id}) is open: {a} delivered "
                f"{self.amount(spec.collateral, int(data[17]))} to escrow and received "
                f"{self.amount(self.cash, record.purchase_price)} from {b}; the position NFT is {b}'s"
            )
        return records[0], records[1]

    def _sign_digest(self, member: Member, typed: dict[str, Any], expect: dict[str, Any]) -> str:
        """A member checks the terms it is asked to sign, then signs the EIP-712 digest with its own key."""
        message = typed["typed_data"]["message"]
        for name, value in expect.items():
            if str(message[name]).lower() != str(value).lower():
                raise DemoError(f"{member.name} refuses to sign: {name} is {message[name]}, expected {value}")
        doc = typed["typed_data"]
        ours = eip712.digest(
            "RepoTerms",
            {k: _typed_value(v) for k, v in message.items()},
            chain_id=int(doc["domain"]["chainId"]),
            engine=str(doc["domain"]["verifyingContract"]),
        )
        if "0x" + ours.hex() != str(typed["digest"]).lower():
            raise DemoError(f"{member.name} refuses to sign: the digest does not match the terms shown")
        signed = Account.unsafe_sign_hash(ours, member.wallet.key)
        return "0x" + bytes(signed.signature).hex()

    def _trade_via_gateway(self, spec: TradeSpec) -> RepoRecord:
        seller, buyer = self.members["a"], self.members["b"]
        rfq = seller.session.post(
            "/v1/rfqs",
            body={
                "cash_token": (spec.cash or self.cash).address,
                "collateral_token": spec.collateral.address,
                "purchase_price": spec.price,
                "collateral_amount": spec.collateral_amount,
                "tenor_seconds": spec.term_seconds,
                "min_transfer_amount": "10000",
                "margin_cure_period_seconds": 600,
                "grace_period_seconds": spec.grace_seconds,
                "seller_wallet_id": seller.wallet_id,
                "quote_seconds": 120,
                "lenders": [buyer.org_id],
            },
        )
        rate = format(Decimal(spec.rate_percent) / 100, "f")
        quote = buyer.session.post(
            f"/v1/rfqs/{rfq['id']}/quotes",
            body={"buyer_wallet_id": buyer.wallet_id, "rate_fraction": rate, "haircut_bps": spec.haircut_bps},
        )
        trade = seller.session.post(f"/v1/rfqs/{rfq['id']}/accept", body={"quote_id": quote["id"]})
        expect = {
            "seller": seller.wallet.address,
            "buyer": buyer.wallet.address,
            "purchasePrice": to_units(spec.price, (spec.cash or self.cash).decimals),
            "collateralAmount": to_units(spec.collateral_amount, spec.collateral.decimals),
        }
        for member in (seller, buyer):
            typed = member.session.get(f"/v1/trades/{trade['id']}/typed-data")
            signature = self._sign_digest(member, typed, expect)
            member.session.post(f"/v1/trades/{trade['id']}/signature", body={"signature": signature})
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            trade = seller.session.get(f"/v1/trades/{trade['id']}")
            if trade.get("repo_id") is not None and trade["status"] == "open":
                break
            if trade["status"] in ("failed", "cancelled"):
                raise DemoError(f"{spec.label}: the trade {trade['id']} {trade['status']}")
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{spec.label}: trade {trade['id']} still {trade['status']} after {SETTLE_TIMEOUT:.0f} s"
                )
            time.sleep(POLL_SECONDS)
        self.say(f"[dim]gateway: RFQ {rfq['id']}, trade {trade['id']}; the relayer opened the repo[/dim]")
        self.gateway_steps.append(
            "RFQ, quote, acceptance, EIP-712 signatures of self-held wallets, opening by the "
            "relayer (/v1/rfqs, /v1/trades)"
        )
        return RepoRecord(
            label=spec.label,
            repo_id=int(trade["repo_id"]),
            seller=seller.name,
            buyer=buyer.name,
            trade_id=str(trade["id"]),
        )

    def _trade_on_chain(self, spec: TradeSpec) -> RepoRecord:
        self.via_chain("RFQ and quote (agreed off the gateway; both parties sign the EIP-712 terms themselves)")
        self.via_chain("repo opening (both parties' EIP-712 signatures, RepoEngine.open)")
        terms = self.terms(
            collateral=spec.collateral,
            collateral_amount=spec.collateral_amount,
            price=spec.price,
            rate=spec.rate_percent,
            haircut=spec.haircut_bps,
            maturity_in=spec.term_seconds,
            grace=spec.grace_seconds,
            cash=spec.cash,
        )
        seller_sig = self.sign(self.members["a"].wallet, terms)
        buyer_sig = self.sign(self.members["b"].wallet, terms)
        as_tuple = tuple(terms[f["name"]] for f in eip712.REPO_TERMS)  # type: ignore[literal-required]
        before = int(self.engine.functions.repoCount().call())
        send(
            self.w3,
            self.members["b"].wallet,
            self.engine.functions.open(as_tuple, seller_sig, buyer_sig),
            f"open {spec.label}",
        )
        repo_id = int(self.engine.functions.repoCount().call())
        if repo_id <= before:
            raise DemoError(f"{spec.label}: opened but no new repo id")
        return RepoRecord(
            label=spec.label, repo_id=repo_id, seller=self.members["a"].name, buyer=self.members["b"].name
        )

    def sign(self, account: LocalAccount, terms: eip712.RepoTerms) -> bytes:
        doc = eip712.typed_data("RepoTerms", dict(terms), chain_id=self.state.chain_id, engine=self.engine.address)
        return bytes(account.sign_typed_data(full_message=doc).signature)

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

    def last_event(self, name: str, repo: RepoRecord) -> dict[str, Any] | None:
        logs = getattr(self.engine.events, name)().get_logs(
            from_block=self.start_block, argument_filters={"repoId": repo.repo_id}
        )
        return dict(logs[-1]["args"]) if logs else None

    def price_falls_and_margin(self, repo: RepoRecord) -> None:
        self.chapter("The price falls: a margin call, cured")
        a, b = self.members["a"], self.members["b"]
        self.post_price(self.gov, "96")
        exposure = int(self.engine.functions.exposure(repo.repo_id).call())
        self.say(
            f"{self.gov.symbol} falls to 96.00; exposure of {repo.label} is now "
            f"{self.amount(self.cash, max(exposure, 0))} (above the 10,000 threshold)"
        )
        self.party_step(
            b,
            "/v1/repos/{repo_id}/margin-call",
            repo,
            None,
            "margin call",
            self.engine.functions.callMargin(repo.repo_id),
        )
        data = self.engine.functions.getRepo(repo.repo_id).call()
        outstanding = int(data[20])
        self.say(f"{b.name} calls margin: {self.amount(self.cash, outstanding)} due within 10 minutes")
        price = price_to_raw("96", self.gov.decimals, self.cash.decimals)
        haircut = int(data[7])
        units = math.ceil(outstanding * 10**18 * 10_000 / (price * (10_000 - haircut)))
        units = (units * 101 + 99) // 100
        body = {"collateral_amount": from_units(units, self.gov.decimals), "cash_amount": "0"}
        self.party_step(
            a,
            "/v1/repos/{repo_id}/margin",
            repo,
            body,
            "margin posting",
            self.engine.functions.postMargin(repo.repo_id, units, 0),
        )
        status = STATUS[int(self.engine.functions.getRepo(repo.repo_id).call()[8])]
        if status != "OPEN":
            raise DemoError(f"{repo.label}: margin posted but the repo is {status}")
        self.say(
            f"{a.name} posts {self.amount(self.gov, units)} more collateral: "
            f"[green]margin call cured[/green], the repo is OPEN again"
        )

    def _wait_until(self, moment: int, why: str, bond: TokenInfo) -> None:
        wait = moment + 1 - int(time.time())
        if wait > 0:
            self.say(f"[dim]waiting {wait} s for {why}…[/dim]")
            time.sleep(wait)
        # A chain that seals only when there is work keeps an old head timestamp: the feeder's fresh price for
        # the collateral is the next block (and the price a close-out needs anyway).
        while self._now() <= moment:
            self.post_price(bond, self.prices[bond.symbol])

    def default_and_close_out(self, repo: RepoRecord) -> None:
        self.chapter(f"{repo.label} is not repurchased: default and close-out")
        a, b = self.members["a"], self.members["b"]
        self._wait_until(repo.maturity + repo.grace, "maturity and grace to pass", self.corp)
        self.party_step(
            b, "/v1/repos/{repo_id}/default", repo, None, "default", self.engine.functions.declareDefault(repo.repo_id)
        )
        status = STATUS[int(self.engine.functions.getRepo(repo.repo_id).call()[8])]
        self.say(f"{a.name} did not pay at maturity; after the grace period {b.name} declares the default ({status})")
        self.party_step(
            b, "/v1/repos/{repo_id}/close-out", repo, None, "close-out", self.engine.functions.closeOut(repo.repo_id)
        )
        args = self.last_event("RepoClosedOut", repo)
        if args:
            self.say(
                f"close-out: {b.name} keeps {self.amount(self.corp, args['collateralToHolder'])} "
                f"worth what was owed ({self.amount(self.cash, args['owed'])}); "
                f"{self.amount(self.corp, args['collateralToSeller'])} returns to {a.name}"
            )
        shortfall = int(self.engine.functions.shortfallOf(repo.repo_id).call())
        self.say("no shortfall" if shortfall == 0 else f"shortfall recorded: {self.amount(self.cash, shortfall)}")

    def repurchased_at_maturity(self, repo: RepoRecord, step: str) -> dict[str, Any]:
        """Bank A repurchases ``repo`` once it matures; the engine's RepoRepurchased arguments."""
        self._wait_until(repo.maturity, "maturity", self.gov)
        self.party_step(
            self.members["a"],
            "/v1/repos/{repo_id}/repurchase",
            repo,
            None,
            step,
            self.engine.functions.repurchase(repo.repo_id),
        )
        args = self.last_event("RepoRepurchased", repo)
        if args is None:
            raise DemoError(f"{repo.label}: no RepoRepurchased event")
        return args

    def repurchase(self, repo: RepoRecord) -> None:
        self.chapter(f"{repo.label} matures: repurchase")
        a = self.members["a"]
        args = self.repurchased_at_maturity(repo, "repurchase")
        paid, back = int(args["repurchasePrice"]), int(args["collateralReturned"])
        self.say(
            f"{a.name} pays the repurchase price {self.amount(self.cash, paid)} "
            f"(price differential {self.amount(self.cash, paid - repo.purchase_price)}); "
            f"{self.amount(self.gov, back)} collateral returns; the position NFT is burned"
        )
        self.post_price(self.gov, "100")

    def audit(self, compliance: UserSession) -> dict[str, Any]:
        self.chapter("The audit trail is verified")
        anchored = _anchor_when_free(compliance)
        sent = final_settlement(compliance, anchored.get("settlement_id"), "the audit anchor")
        tx_hash = anchored["tx_hash"] or (sent["steps"][-1]["tx_hash"] if sent else None)
        self.say(f"compliance anchors the audit-log head (entry {anchored['sequence']}) on chain in {tx_hash}")
        report: dict[str, Any] = compliance.get("/v1/audit/verify")
        if not report.get("ok"):
            raise DemoError(f"the audit log does not verify: {report}")
        self.say(
            f"[green]hash chain intact[/green]: {report['entries']} entries, head {report['head_hash'][:18]}…, "
            f"{report['anchors_checked']} on-chain anchors match"
        )
        return report

    # --- the ending -------------------------------------------------------------------------------------------
    def timeline(self, repo: RepoRecord) -> None:
        for name in EVENTS:
            for log in getattr(self.engine.events, name)().get_logs(
                from_block=self.start_block, argument_filters={"repoId": repo.repo_id}
            ):
                repo.timeline.append((int(log["blockNumber"]), int(log["logIndex"]), name))
        repo.timeline.sort()
        repo.status = STATUS[int(self.engine.functions.getRepo(repo.repo_id).call()[8])]

    def _time_of(self, block: int) -> str:
        stamp = int(self.w3.eth.get_block(block)["timestamp"])
        return time.strftime("%H:%M:%S", time.gmtime(stamp))

    def summary(self, audit: dict[str, Any]) -> DemoResult:
        self.chapter("Where everything ended")
        eur = fx.eur_cash(self)
        tokens = [self.cash, *([eur] if eur is not None else []), self.gov, self.corp]
        table = Table(title="Balances on chain")
        table.add_column("member")
        table.add_column("wallet")
        for t in tokens:
            table.add_column(t.symbol, justify="right")
        members: dict[str, dict[str, Any]] = {}
        rows: list[tuple[str, str]] = [(m.name, m.wallet.address) for m in self.members.values()]
        rows.append(("repo engine (escrow)", self.engine.address))
        for name, address in rows:
            balances = {t.symbol: int(self.tok(t).functions.balanceOf(address).call()) for t in tokens}
            table.add_row(
                name, address, *(f"{Decimal(from_units(balances[t.symbol], t.decimals)):,.2f}" for t in tokens)
            )
            members[name] = {"address": address, "balances": {k: str(v) for k, v in balances.items()}}
        self.console.print(table)
        repos: list[dict[str, Any]] = []
        timeline = Table(title="Repo timelines")
        timeline.add_column("repo")
        timeline.add_column("status")
        timeline.add_column("events (UTC block time)")
        for repo in self.repos:
            self.timeline(repo)
            events = "  →  ".join(
                f"{self._time_of(block)} {name.removeprefix('Repo')}" for block, _, name in repo.timeline
            )
            timeline.add_row(f"{repo.label} #{repo.repo_id}", repo.status, events)
            repos.append(
                {
                    "label": repo.label,
                    "repo_id": repo.repo_id,
                    "status": repo.status,
                    "events": [{"block": b, "log_index": i, "event": n} for b, i, n in repo.timeline],
                }
            )
        self.console.print(timeline)
        if self.gateway_steps:
            self.console.print("[dim]Through the gateway: " + "; ".join(dict.fromkeys(self.gateway_steps)) + "[/dim]")
        if self.chain_steps:
            self.console.print(
                "[dim]Sent over JSON-RPC, not through the gateway (self-held wallets send their own "
                "transactions; the issuer key where the gateway has no endpoint): "
                + "; ".join(self.chain_steps)
                + "[/dim]"
            )
        return DemoResult(
            tag=self.tag,
            members=members,
            repos=repos,
            audit=audit,
            chain_steps=self.chain_steps,
            gateway_steps=list(dict.fromkeys(self.gateway_steps)),
        )


def _typed_value(value: Any) -> Any:
    """Typed-data JSON carries big integers as decimal strings; eth-account wants ints (addresses stay text)."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


def _anchor_when_free(compliance: UserSession, timeout: float = 120.0) -> dict[str, Any]:
    """Anchor the audit head. The gateway also anchors on its own schedule and answers 409 while an anchor is on
    its way to the chain; the demo then waits for that one to land and asks again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            anchored: dict[str, Any] = compliance.post("/v1/audit/anchor")
            return anchored
        except ApiError as exc:
            if exc.status != 409 or time.monotonic() > deadline:
                raise
        time.sleep(0.5)
