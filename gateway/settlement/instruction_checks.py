"""What an instruction's signature and submission need from the chain, asked in the read session before the
request's write transaction opens (gateway.chain.guard: no JSON-RPC call while one is open).

Before writing: the repo (who may see the instruction, who sends its step), the signing wallet's verdict in the
identity registry, an ERC-1271 wallet's verdict on the signature it brings, the sending wallet's allowance, and
the engine's own verdict on the step when this signature completes it. A custodial signature is never in that
call, even one already made (gateway.settlement.simulate stands in for it). The write then re-checks that the
instruction is still the one checked (the same signatures in, the same wallet to sign) and makes no chain call.
"""

from __future__ import annotations

import dataclasses
import uuid

from eth_utils.address import to_checksum_address
from sqlalchemy.orm import Session

from contracts import eip712
from gateway.chain.bindings.engine import RepoStatus
from gateway.context import GatewayContext
from gateway.custody.kyc import require_verified
from gateway.db.models import WalletKind
from gateway.exceptions import InvalidRequest
from gateway.settlement import instructions, service
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market
from gateway.settlement.simulate import Overrides
from gateway.settlement_records.models import SENDABLE, Instruction
from gateway.trading.exceptions import InvalidSignature, InvalidState, StepWouldRevert


def before_signing(
    ctx: GatewayContext,
    read: Session,
    hub: Hub,
    *,
    instruction_id: uuid.UUID,
    organization_id: uuid.UUID,
    signature: str | None,
) -> instructions.Checked:
    """The chain's part of adding the organization's signature (``signature``: a self-held wallet's own), and of
    the submission it completes."""
    instruction, repo = instructions.load_with_repo(read, hub, instruction_id, organization_id)
    if instruction.status != "pending":
        raise InvalidState(f"the instruction is {instruction.status}")
    wallet = instructions.my_wallet(read, instruction, organization_id)
    require_verified(ctx, read, wallet)
    contract_signature = False
    if signature is None:
        if wallet.kind != WalletKind.CUSTODIAL.value:
            raise InvalidRequest("a self-held wallet signs itself: POST .../signature")
    elif not instructions.signature_by(hub, instruction, wallet, signature):
        market = hub.market
        raw = bytes.fromhex(signature[2:])
        if market is None or not market.erc1271_valid(wallet.address, instructions.digest(hub, instruction), raw):
            raise InvalidSignature(f"the signature is not by {wallet.address}")
        contract_signature = True
    signatures = {**instruction.signatures, wallet.address.lower(): signature or ""}
    checked = instructions.Checked(
        instruction_id=instruction.id,
        signed=frozenset(instruction.signatures),
        repo=repo,
        wallet=wallet.address,
        contract_signature=contract_signature,
    )
    return _with_submission(ctx, read, hub, checked, instruction, signatures, organization_id)


def before_submitting(
    ctx: GatewayContext, read: Session, hub: Hub, *, instruction_id: uuid.UUID, organization_id: uuid.UUID
) -> instructions.Checked:
    """The chain's part of submitting a fully signed instruction."""
    instruction, repo = instructions.load_with_repo(read, hub, instruction_id, organization_id)
    checked = instructions.Checked(instruction_id=instruction.id, signed=frozenset(instruction.signatures), repo=repo)
    return _with_submission(ctx, read, hub, checked, instruction, dict(instruction.signatures), organization_id)


def _with_submission(
    ctx: GatewayContext,
    read: Session,
    hub: Hub,
    checked: instructions.Checked,
    instruction: Instruction,
    signatures: dict[str, str],
    organization_id: uuid.UUID,
) -> instructions.Checked:
    """``checked`` with what submitting the step needs, when ``signatures`` complete the instruction: the engine
    asked whether it would take the step (refused here with its reason: 409 step-would-revert, nothing queued)."""
    if instruction.status not in SENDABLE or set(instruction.required) - set(signatures):
        return checked
    market, repo = hub.require_market(), checked.repo
    assert repo is not None
    overrides = Overrides()
    stand_in = _stand_ins(read, signatures, overrides)
    m = instructions.message_of(instruction)
    if instruction.kind == "Amendment":
        seller_sig, holder_sig = instructions.amendment_signatures(repo, stand_in)
        amendment = tuple(m[field["name"]] for field in eip712.AMENDMENT)
        data = market.encode(market.engine, "amend", amendment, seller_sig, holder_sig)
        _simulate(market, "amendment", market.relayer.address, data, overrides)
        return checked
    if instruction.kind in SENT_BY_THE_SELLER:
        _still_takes(hub, instruction, repo, signatures)
    if instruction.kind == "EarlyRepurchase":
        return _early_repurchase_sender(ctx, read, hub, checked, repo, organization_id)
    if instruction.kind != "Substitution":
        raise InvalidRequest(f"unknown instruction kind {instruction.kind}")
    seller = service.party_wallet(read, repo.seller, organization_id)
    if seller is None:
        return checked  # the seller's organization submits once the holder has consented
    require_verified(ctx, read, seller)
    token, amount = str(m["newCollateralToken"]), int(m["newCollateralAmount"])
    approvals = tuple(service.approval_steps(market, seller, token, amount))
    checked = dataclasses.replace(checked, sender=seller.address, approvals=approvals)
    if seller.kind != WalletKind.CUSTODIAL.value:
        return checked  # a self-held seller approves the engine itself, possibly after it has the transaction
    if approvals and not overrides.allow(market, token, seller.address):
        return checked  # the approve goes first and its effect cannot be simulated: the relayer checks before
    args = instructions.substitution_args(instruction, repo, stand_in)
    _simulate(market, "substitution", seller.address, market.encode(market.engine, "substitute", *args), overrides)
    return checked


SENT_BY_THE_SELLER = ("Substitution", "EarlyRepurchase")
LIVE = (RepoStatus.OPEN, RepoStatus.MARGIN_CALLED)


def _still_takes(hub: Hub, instruction: Instruction, repo: service.OnChainRepo, signatures: dict[str, str]) -> None:
    """A step the seller's wallet sends, checked before it is queued or handed out (again): consented by the
    position's current holder, before its deadline, on a live repo, its nonce unspent (a handed-out step may be on
    chain already). A self-held seller's step is not simulated (it approves the engine itself first): without these
    a wallet would be handed a transaction the engine refuses."""
    takes = (RepoStatus.OPEN,) if instruction.kind == "Substitution" else LIVE  # the engine's own preconditions
    if repo.state.status not in takes:
        raise InvalidState(f"the repo is {repo.state.status.name.lower()}: nothing to send")
    holder = (repo.holder or "").lower()
    if holder not in signatures:
        raise InvalidState("the position changed hands since the holder consented: propose the change again")
    m = instructions.message_of(instruction)
    if hub.now() > int(m["deadline"]):
        raise InvalidState("the instruction's deadline has passed: propose the change again")
    market = hub.require_market()
    if market.view(market.engine, "nonceUsed")(to_checksum_address(holder), int(m["nonce"])):
        raise InvalidState("the engine has carried this instruction out already: nothing to send")


def _early_repurchase_sender(
    ctx: GatewayContext,
    read: Session,
    hub: Hub,
    checked: instructions.Checked,
    repo: service.OnChainRepo,
    organization_id: uuid.UUID,
) -> instructions.Checked:
    """``checked`` with the seller's wallet that sends ``repurchaseEarly`` once the holder has consented, and the
    cash approval it lacks for RP (read an hour ahead, as the plain repurchase does). The holder's organization
    only signs: the seller's submits."""
    market = hub.require_market()
    seller = service.party_wallet(read, repo.seller, organization_id)
    if seller is None:
        return checked
    require_verified(ctx, read, seller)
    rp = int(market.engine.functions.repurchasePrice(repo.repo_id, hub.now() + 3_600).call())
    approvals = tuple(service.approval_steps(market, seller, str(repo.cash_token), rp))
    return dataclasses.replace(checked, sender=seller.address, approvals=approvals)


def _stand_ins(read: Session, signatures: dict[str, str], overrides: Overrides) -> dict[str, str]:
    """``signatures`` with each custodial wallet's (made or to be made) replaced by a placeholder its overridden
    code accepts for the call only."""
    out = dict(signatures)
    for wallet in instructions.wallets_of(read, list(signatures)):
        if wallet.kind == WalletKind.CUSTODIAL.value:
            out[wallet.address.lower()] = overrides.as_custodial(to_checksum_address(wallet.address))
    return out


def _simulate(market: Market, kind: str, sender: str, data: str, overrides: Overrides) -> None:
    reason = market.revert_reason(
        sender=sender, to=market.engine_address, data=data, overrides=overrides.accounts or None
    )
    if reason is not None:
        raise StepWouldRevert(f"{kind} would revert: {reason}")
