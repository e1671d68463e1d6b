"""Settlement of trades and lifecycle steps: which transactions, from which account, in which order.

Steps the engine lets anyone send (open, margin call, amendments, default) go from the relayer's operator
account. Steps only a party may send (repurchase, margin, withdrawal, substitution, termination, close-out) go
from that party's custodial wallet with the consent of one of its people, recorded by the custody door (KYC and
step-up checked there), which alone signs them; a self-held wallet gets the transaction to send itself. Token
approvals a custodial wallet lacks are sent first. A failed open cancels its nonce on chain from each custodial
party's wallet (following from that party's consent to the terms) before the trade is marked failed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts import eip712
from gateway.chain.bindings.engine import RepoState, RepoStatus, repo_components
from gateway.context import GatewayContext
from gateway.custody import door
from gateway.db import audit_log
from gateway.db.models import Wallet, WalletKind
from gateway.exceptions import Conflict, NotFound, PermissionDenied
from gateway.settlement import visibility
from gateway.settlement.approvals import OpenApprovals, approve_step, needs_approve
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market
from gateway.settlement_records.models import ChainStep, Settlement
from gateway.settlement_records.steps import StepSpec, enqueue
from gateway.trading.exceptions import InvalidState, StepWouldRevert
from gateway.trading.models import Trade, TradeStatus


def _terms_tuple(terms: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(terms[f["name"]] for f in eip712.REPO_TERMS)


def approval_steps(market: Market, wallet: Wallet, token: str, amount: int) -> list[StepSpec]:
    """An ``approve`` from a custodial wallet when its allowance to the engine is below ``amount``."""
    return [approve_step(market, wallet, token)] if needs_approve(market, wallet, token, amount) else []


def open_if_ready(
    session: Session, hub: Hub, *, trade: Trade, actor: str, approvals: OpenApprovals | None
) -> Settlement | None:
    """Both signatures in: queue the approvals custodial wallets lack, then ``open`` from the relayer. Which
    approvals are lacking was read from the chain before the write transaction (``read_open_approvals``)."""
    if trade.seller_signature is None or trade.buyer_signature is None:
        return None
    market = hub.require_market()
    from gateway.trading.terms import terms_of

    terms = terms_of(trade)
    seller = session.get(Wallet, trade.seller_wallet_id)
    buyer = session.get(Wallet, trade.buyer_wallet_id)
    assert seller is not None and buyer is not None
    if approvals is None:
        raise Conflict("the allowances of the open were not read: sign again")
    approvals.require_current(trade, seller, buyer)
    subject = f"trade/{trade.id}"
    seller_specs = [approve_step(market, seller, str(terms["collateralToken"]))] if approvals.seller_approves else []
    buyer_specs = [approve_step(market, buyer, str(terms["cashToken"]))] if approvals.buyer_approves else []
    steps = [
        *door.follow_from(session, wallet=seller, subject=subject, specs=seller_specs),
        *door.follow_from(session, wallet=buyer, subject=subject, specs=buyer_specs),
    ]
    data = market.encode(
        market.engine,
        "open",
        _terms_tuple(terms),
        bytes.fromhex(trade.seller_signature[2:]),
        bytes.fromhex(trade.buyer_signature[2:]),
    )
    steps.append(StepSpec(label="open", to=market.engine_address, data=data, sender=market.relayer.address))
    settlement = enqueue(session, kind="open", requested_by=actor, steps=steps, trade_id=trade.id)
    trade.status = TradeStatus.SETTLING.value
    trade.settlement_id = settlement.id
    return settlement


def _open_step(session: Session, settlement: Settlement) -> ChainStep:
    return session.scalars(
        select(ChainStep).where(ChainStep.settlement_id == settlement.id, ChainStep.label == "open")
    ).one()


def on_open_final(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    trade = session.get(Trade, settlement.trade_id)
    if trade is None:
        return
    step = _open_step(session, settlement)
    assert step.tx_hash is not None
    receipt = market.receipt(step.tx_hash)
    trade.repo_id = market.opened_repo_id(receipt)
    trade.status = TradeStatus.OPEN.value
    settlement.repo_id = trade.repo_id
    # the open on the feed under the repo's id, as its repurchase or termination will be (rapid open-and-close)
    audit_log.append(
        session,
        actor="system:relayer",
        action="repo.opened",
        object_type="repo",
        object_id=str(trade.repo_id),
        change={"settlement": str(settlement.id), "trade": str(trade.id), "tx_hash": step.tx_hash},
    )


def on_open_failed(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    """The signed terms sit in the failed transaction (or the database) with unused nonces: cancel them on chain
    from each custodial party's wallet first; the trade is marked failed once that is final."""
    trade = session.get(Trade, settlement.trade_id)
    if trade is None:
        return
    nonce = int(trade.terms["nonce"])
    cancels: list[StepSpec] = []
    for wallet_id in (trade.seller_wallet_id, trade.buyer_wallet_id):
        wallet = session.get(Wallet, wallet_id)
        if wallet is None or wallet.kind != WalletKind.CUSTODIAL.value:
            continue  # a self-held party cancels its own nonce; one cancelled nonce already stops the open
        spec = StepSpec(
            label="cancel_nonce",
            to=market.engine_address,
            data=market.encode(market.engine, "cancelNonce", nonce),
            sender=wallet.address,
            sender_wallet_id=wallet.id,
        )
        cancels += door.follow_from(session, wallet=wallet, subject=f"trade/{trade.id}", specs=[spec])
    if not cancels:
        trade.status = TradeStatus.FAILED.value
        return
    cancelling = enqueue(session, kind="cancel_open", requested_by="system:relayer", steps=cancels, trade_id=trade.id)
    trade.settlement_id = cancelling.id
    trade.status = TradeStatus.CANCELLING.value


def on_cancel_done(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    trade = session.get(Trade, settlement.trade_id)
    if trade is not None:
        trade.status = TradeStatus.FAILED.value


HOOKS = {"open": on_open_final, "cancel_open": on_cancel_done}
FAILURE_HOOKS = {"open": on_open_failed, "cancel_open": on_cancel_done}


# ------------------------------------------------------------------------------------------------ lifecycle
@dataclass(frozen=True)
class OnChainRepo:
    repo_id: int
    state: RepoState
    holder: str | None  # the position's owner while the repo is live

    @property
    def seller(self) -> str:
        return self.state.seller

    @property
    def status(self) -> RepoStatus:
        return self.state.status

    @property
    def collateral_token(self) -> str:
        return self.state.collateral_token

    @property
    def cash_token(self) -> str:
        return self.state.cash_token


def read_repo(market: Market, repo_id: int, block: int | str = "latest") -> OnChainRepo:
    """The repo as the engine holds it after ``block`` (the indexer reads at the block its cursor records): one
    ``eth_call``, since ``getRepo``'s ``buyer`` is the position's current holder (the engine keeps it; the position's
    ``ownerOf`` reads the same word)."""
    state = RepoState.decode(market.view(market.engine, "getRepo")(repo_id, block=block), repo_components())
    if state.status is RepoStatus.NONE:
        raise NotFound("repo not found")
    holder = str(state.buyer) if state.status.live else None
    return OnChainRepo(repo_id=repo_id, state=state, holder=holder)


def party_wallet(session: Session, address: str | None, organization_id: uuid.UUID) -> Wallet | None:
    if address is None:
        return None
    wallet = session.execute(select(Wallet).where(Wallet.address == address)).scalar_one_or_none()
    if wallet is None or wallet.organization_id != organization_id:
        return None
    return wallet


def authorize_repo(session: Session, repo_id: int, organization_id: uuid.UUID, is_operator: bool) -> None:
    """404 unless the organization is a party by the database (the indexed repo, or the trade that opened it):
    decided before the chain is asked anything."""
    from gateway.settlement_records.models import RepoRecord

    if is_operator:
        return
    record = session.get(RepoRecord, repo_id)
    if record is not None and organization_id in (record.seller_org_id, record.holder_org_id):
        return
    trade = session.execute(select(Trade).where(Trade.repo_id == repo_id)).scalar_one_or_none()
    if trade is not None and organization_id in (trade.seller_org_id, trade.buyer_org_id):
        return
    raise NotFound("repo not found")


def visible_repo(
    session: Session, market: Market, repo_id: int, organization_id: uuid.UUID, is_operator: bool
) -> tuple[OnChainRepo, Wallet | None, Wallet | None]:
    """The repo with the caller's seller wallet and holder wallet (if theirs); 404 for strangers."""
    repo = read_repo(market, repo_id)
    seller = party_wallet(session, repo.seller, organization_id)
    holder = party_wallet(session, repo.holder, organization_id)
    if seller is None and holder is None and not is_operator:
        raise NotFound("repo not found")
    return repo, seller, holder


@dataclass(frozen=True)
class Submitted:
    settlement: Settlement | None
    transaction: dict[str, str] | None  # for a self-held wallet to send itself


def party_call(
    ctx: GatewayContext,
    session: Session,
    hub: Hub,
    *,
    person: door.Person,
    kind: str,
    repo_id: int,
    wallet: Wallet,
    fn_name: str,
    args: tuple[Any, ...],
    approvals: list[tuple[str, int]],
    organization_id: uuid.UUID,
    chain_checked: str,
    prepared: list[StepSpec] | None = None,
) -> Submitted:
    """A step only a party may send: from its custodial wallet via the relayer (``person``'s consent recorded by the
    custody door), or handed to a self-held one. A step the engine would refuse now (no approval to go first) is
    refused here with the engine's reason: nothing is queued and no transaction is handed out. Every chain read
    (allowances, the engine's simulation) is made before ``session`` is first used: ``wallet`` may be the read
    session's. ``prepared``: the approvals the wallet lacks, read and the step simulated before the caller's
    write transaction opened (then no chain call here)."""
    actor = person.actor
    market = hub.require_market()
    data = market.encode(market.engine, fn_name, *args)
    custodial = wallet.kind == WalletKind.CUSTODIAL.value
    steps: list[StepSpec] = list(prepared or [])
    if custodial and prepared is None:
        for token, amount in approvals:
            steps += approval_steps(market, wallet, token, amount)
    # a self-held wallet approves the engine itself, possibly after it has the transaction: no check then
    check = not steps if custodial else not any(amount > 0 for _, amount in approvals)
    if check and prepared is None:
        reason = market.revert_reason(sender=wallet.address, to=market.engine_address, data=data)
        if reason is not None:
            raise StepWouldRevert(f"{kind} would revert: {reason}")
    if not custodial:
        return Submitted(None, {"from": wallet.address, "to": market.engine_address, "data": data})
    # the chain has been asked (above, before the write transaction opens): the wallet as the write sees it
    written = session.get(Wallet, wallet.id)
    if written is None or written.address != wallet.address or written.kind != wallet.kind:
        raise NotFound("wallet not found")
    wallet = written
    steps.append(
        StepSpec(label=kind, to=market.engine_address, data=data, sender=wallet.address, sender_wallet_id=wallet.id)
    )
    steps = door.authorize_steps(ctx, session, person=person, wallet=wallet, specs=steps, chain_checked=chain_checked)
    settlement = enqueue(
        session, kind=kind, requested_by=actor, steps=steps, repo_id=repo_id, organization_id=organization_id
    )
    audit_log.append(
        session,
        actor=actor,
        action=f"repo.{kind}",
        object_type="repo",
        object_id=str(repo_id),
        change={"settlement": str(settlement.id), "args": [str(a) for a in args]},
    )
    session.commit()
    hub.notify()
    return Submitted(settlement, None)


def relayed_call(
    session: Session,
    hub: Hub,
    *,
    actor: str,
    kind: str,
    repo_id: int,
    fn_name: str,
    args: tuple[Any, ...],
    organization_id: uuid.UUID | None,
    simulated: bool = False,
) -> Submitted:
    """A step anyone may send: from the relayer's operator account. A step the engine would refuse now is
    refused here with the engine's reason (409 ``step-would-revert``), and nothing is queued. ``simulated``: the
    caller asked the engine before its write transaction opened (then no chain call here)."""
    market = hub.require_market()
    data = market.encode(market.engine, fn_name, *args)
    if not simulated:
        simulate_relayed(hub, kind=kind, fn_name=fn_name, args=args)
    settlement = enqueue(
        session,
        kind=kind,
        requested_by=actor,
        repo_id=repo_id,
        organization_id=organization_id,
        steps=[StepSpec(label=kind, to=market.engine_address, data=data, sender=market.relayer.address)],
    )
    audit_log.append(
        session,
        actor=actor,
        action=f"repo.{kind}",
        object_type="repo",
        object_id=str(repo_id),
        change={"settlement": str(settlement.id)},
    )
    session.commit()
    hub.notify()
    return Submitted(settlement, None)


def simulate_relayed(hub: Hub, *, kind: str, fn_name: str, args: tuple[Any, ...]) -> None:
    """409 ``step-would-revert`` with the engine's reason if the relayer's step would fail now (an ``eth_call``:
    make it before the write transaction opens)."""
    market = hub.require_market()
    data = market.encode(market.engine, fn_name, *args)
    reason = market.revert_reason(sender=market.relayer.address, to=market.engine_address, data=data)
    if reason is not None:
        raise StepWouldRevert(f"{kind} would revert: {reason}")


def require_status(repo: OnChainRepo, *allowed: RepoStatus) -> None:
    if repo.status not in allowed:
        raise InvalidState(f"repo {repo.repo_id} is {repo.status}")


def require(wallet: Wallet | None, role: str) -> Wallet:
    if wallet is None:
        raise PermissionDenied(f"only the {role} may do this")
    return wallet


def load_settlement(
    session: Session, settlement_id: uuid.UUID, organization_id: uuid.UUID, is_operator: bool
) -> Settlement:
    settlement = session.get(Settlement, settlement_id)
    if settlement is None:
        raise NotFound("settlement not found")
    if is_operator or visibility.may_see(session, settlement, organization_id):
        return settlement
    raise NotFound("settlement not found")


def steps_of(session: Session, settlement_id: uuid.UUID) -> list[ChainStep]:
    return list(
        session.scalars(select(ChainStep).where(ChainStep.settlement_id == settlement_id).order_by(ChainStep.seq))
    )
