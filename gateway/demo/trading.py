"""The demo's trading chapter: Bank A asks Fund B for a quote, both sign the EIP-712 terms with their own wallets,
and each repo opens as delivery versus payment in one transaction — through the gateway's RFQ and trade-signing
endpoints (the relayer opens it) when it has them, else agreed off the gateway and opened straight on the engine.
``open_repo`` is shared with the cross-currency chapter (``fx``)."""

from __future__ import annotations

import secrets
import time
from decimal import Decimal
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from contracts import eip712
from gateway.datadir import TokenInfo
from gateway.demo.exceptions import DemoError
from gateway.demo.records import Member, RepoRecord
from gateway.demo.specs import TradeSpec
from gateway.demo.stage import POLL_SECONDS, SETTLE_TIMEOUT, Stage
from gateway.ops.chain import send, to_units

RATE_SCALE = 10**18


def trade(stage: Stage) -> tuple[RepoRecord, RepoRecord]:
    stage.chapter("Request for quote, and the repos open: delivery versus payment in one transaction")
    a, b = stage.members["a"].name, stage.members["b"].name
    specs = (
        TradeSpec("Repo 1", stage.gov, "10000000", "9500000", "3.10", 200, stage.maturity_seconds, 3600),
        TradeSpec("Repo 2", stage.corp, "5000000", "4500000", "3.40", 500, stage.default_after_seconds, 5),
    )
    records: list[RepoRecord] = []
    for spec in specs:
        stage.say(
            f"{a} asks {b} for a quote: borrow {Decimal(spec.price):,.0f} {stage.cash.symbol} against "
            f"{Decimal(spec.collateral_amount):,.0f} {spec.collateral.symbol} for {spec.term_seconds} s "
            f"(a demo's 'term')"
        )
        stage.say(
            f"{b} quotes {spec.rate_percent}% (ACT/360) with a {spec.haircut_bps / 100:.0f}% haircut; "
            f"{a} accepts; both sign the EIP-712 terms with their own wallets"
        )
        record = open_repo(stage, spec)
        records.append(record)
        stage.say(
            f"{spec.label} (#{record.repo_id}) is open: {a} delivered "
            f"{stage.amount(spec.collateral, record.collateral_in_escrow)} to escrow and received "
            f"{stage.amount(stage.cash, record.purchase_price)} from {b}; the position NFT is {b}'s"
        )
    return records[0], records[1]


def open_repo(stage: Stage, spec: TradeSpec) -> RepoRecord:
    """Agree and open one repo (through the gateway when it trades, else on the engine); the engine's figures of it
    on the record, and the record among the story's repos."""
    record = _trade_via_gateway(stage, spec) if stage.gateway_trading else _trade_on_chain(stage, spec)
    data = stage.engine.functions.getRepo(record.repo_id).call()
    record.purchase_price, record.maturity, record.grace = int(data[4]), int(data[10]), int(data[13])
    record.collateral_in_escrow = int(data[17])
    stage.repos.append(record)
    return record


def terms(
    stage: Stage,
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
    now = max(stage.now(), int(time.time()))
    cash = cash or stage.cash
    return {
        "seller": stage.members["a"].wallet.address,
        "buyer": stage.members["b"].wallet.address,
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


def sign_terms(stage: Stage, account: LocalAccount, repo_terms: eip712.RepoTerms) -> bytes:
    doc = eip712.typed_data("RepoTerms", dict(repo_terms), chain_id=stage.state.chain_id, engine=stage.engine.address)
    return bytes(account.sign_typed_data(full_message=doc).signature)


def _sign_digest(member: Member, typed: dict[str, Any], expect: dict[str, Any]) -> str:
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


def _trade_via_gateway(stage: Stage, spec: TradeSpec) -> RepoRecord:
    seller, buyer = stage.members["a"], stage.members["b"]
    rfq = seller.session.post(
        "/v1/rfqs",
        body={
            "cash_token": (spec.cash or stage.cash).address,
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
        "purchasePrice": to_units(spec.price, (spec.cash or stage.cash).decimals),
        "collateralAmount": to_units(spec.collateral_amount, spec.collateral.decimals),
    }
    for member in (seller, buyer):
        typed = member.session.get(f"/v1/trades/{trade['id']}/typed-data")
        signature = _sign_digest(member, typed, expect)
        member.session.post(f"/v1/trades/{trade['id']}/signature", body={"signature": signature})
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        trade = seller.session.get(f"/v1/trades/{trade['id']}")
        if trade.get("repo_id") is not None and trade["status"] == "open":
            break
        if trade["status"] in ("failed", "cancelled"):
            raise DemoError(f"{spec.label}: the trade {trade['id']} {trade['status']}")
        if time.monotonic() > deadline:
            raise DemoError(f"{spec.label}: trade {trade['id']} still {trade['status']} after {SETTLE_TIMEOUT:.0f} s")
        time.sleep(POLL_SECONDS)
    stage.say(f"[dim]gateway: RFQ {rfq['id']}, trade {trade['id']}; the relayer opened the repo[/dim]")
    stage.gateway_steps.append(
        "RFQ, quote, acceptance, EIP-712 signatures of self-held wallets, opening by the relayer (/v1/rfqs, /v1/trades)"
    )
    return RepoRecord(
        label=spec.label,
        repo_id=int(trade["repo_id"]),
        seller=seller.name,
        buyer=buyer.name,
        trade_id=str(trade["id"]),
    )


def _trade_on_chain(stage: Stage, spec: TradeSpec) -> RepoRecord:
    stage.via_chain("RFQ and quote (agreed off the gateway; both parties sign the EIP-712 terms themselves)")
    stage.via_chain("repo opening (both parties' EIP-712 signatures, RepoEngine.open)")
    repo_terms = terms(
        stage,
        collateral=spec.collateral,
        collateral_amount=spec.collateral_amount,
        price=spec.price,
        rate=spec.rate_percent,
        haircut=spec.haircut_bps,
        maturity_in=spec.term_seconds,
        grace=spec.grace_seconds,
        cash=spec.cash,
    )
    seller_sig = sign_terms(stage, stage.members["a"].wallet, repo_terms)
    buyer_sig = sign_terms(stage, stage.members["b"].wallet, repo_terms)
    as_tuple = tuple(repo_terms[f["name"]] for f in eip712.REPO_TERMS)  # type: ignore[literal-required]
    before = int(stage.engine.functions.repoCount().call())
    send(
        stage.w3,
        stage.members["b"].wallet,
        stage.engine.functions.open(as_tuple, seller_sig, buyer_sig),
        f"open {spec.label}",
    )
    repo_id = int(stage.engine.functions.repoCount().call())
    if repo_id <= before:
        raise DemoError(f"{spec.label}: opened but no new repo id")
    return RepoRecord(label=spec.label, repo_id=repo_id, seller=stage.members["a"].name, buyer=stage.members["b"].name)


def _typed_value(value: Any) -> Any:
    """Typed-data JSON carries big integers as decimal strings; eth-account wants ints (addresses stay text)."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value
