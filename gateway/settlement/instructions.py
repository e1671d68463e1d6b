"""Lifecycle instructions that need signatures first: substitution (the holder consents) and amendments (roll,
re-rate: seller and holder both sign). Each signature passes the signing member's policy (its approver quorum on
the repo's facts); a custodial one is made by the custody door. Once every required signature is in, the step is
queued."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from eth_utils.address import to_checksum_address
from sqlalchemy.orm import Session

from contracts import eip712
from gateway.audit import log as audit_log
from gateway.context import GatewayContext
from gateway.custody import door
from gateway.custody.kyc import require_verified
from gateway.db.models import Wallet, WalletKind
from gateway.exceptions import InvalidRequest, NotFound
from gateway.policy import instructions as policy
from gateway.settlement import service
from gateway.settlement.hub import Hub
from gateway.settlement.models import Instruction
from gateway.settlement.schemas import InstructionPublic
from gateway.trading.exceptions import InvalidSignature, InvalidState
from gateway.trading.schemas import TypedDataDocument

INT_KEYS = {"repoId", "kind", "newMaturity", "newRate", "nonce", "deadline", "newCollateralAmount"}


def message_of(instruction: Instruction) -> dict[str, Any]:
    return {k: (int(v) if k in INT_KEYS else v) for k, v in instruction.message.items()}


def typed(hub: Hub, instruction: Instruction) -> dict[str, Any]:
    return eip712.typed_data(
        instruction.kind, message_of(instruction), chain_id=hub.chain_id, engine=hub.require_engine()
    )


def digest(hub: Hub, instruction: Instruction) -> bytes:
    return eip712.digest(instruction.kind, message_of(instruction), chain_id=hub.chain_id, engine=hub.require_engine())


def public(hub: Hub, instruction: Instruction) -> InstructionPublic:
    return InstructionPublic(
        id=instruction.id,
        repo_id=instruction.repo_id,
        kind=instruction.kind,
        status=instruction.status,
        message={k: str(v) for k, v in instruction.message.items()},
        required=instruction.required,
        signed_by=sorted(instruction.signatures),
        typed_data=TypedDataDocument.model_validate(eip712.for_wallets(typed(hub, instruction))),
        digest="0x" + digest(hub, instruction).hex(),
        settlement_id=instruction.settlement_id,
    )


def create(
    session: Session, hub: Hub, *, actor: str, repo_id: int, kind: str, message: dict[str, Any], required: list[str]
) -> Instruction:
    deadline = hub.now() + 3_600
    message = {**message, "nonce": secrets.randbits(128), "deadline": deadline}
    instruction = Instruction(
        id=uuid.uuid4(),
        repo_id=repo_id,
        kind=kind,
        message={k: (str(v) if k in INT_KEYS else v) for k, v in message.items()},
        signatures={},
        required=[a.lower() for a in required],
        created_by=actor,
    )
    session.add(instruction)
    audit_log.append(
        session,
        actor=actor,
        action="instruction.created",
        object_type="instruction",
        object_id=str(instruction.id),
        change={"kind": kind, "repo": repo_id},
    )
    session.commit()
    return instruction


def load(session: Session, hub: Hub, instruction_id: uuid.UUID, organization_id: uuid.UUID) -> Instruction:
    """The instruction, for an organization that must sign it or is the repo's seller; else 404."""
    instruction = session.get(Instruction, instruction_id)
    if instruction is None:
        raise NotFound("instruction not found")
    parties = list(instruction.required)
    if hub.market is not None:
        parties.append(service.read_repo(hub.market, instruction.repo_id).seller.lower())
    mine = [w for w in _wallets_of(session, parties) if w.organization_id == organization_id]
    if not mine:
        raise NotFound("instruction not found")
    return instruction


def _wallets_of(session: Session, addresses: list[str]) -> list[Wallet]:
    from sqlalchemy import select

    checksummed = [to_checksum_address(a) for a in addresses]
    return list(session.scalars(select(Wallet).where(Wallet.address.in_(checksummed))))


def my_wallet(session: Session, instruction: Instruction, organization_id: uuid.UUID) -> Wallet:
    for wallet in _wallets_of(session, instruction.required):
        if wallet.organization_id == organization_id and wallet.address.lower() not in instruction.signatures:
            return wallet
    raise InvalidState("nothing left for this organization to sign")


def sign(
    ctx: GatewayContext,
    session: Session,
    hub: Hub,
    *,
    person: door.Person,
    instruction: Instruction,
    signature: str | None,
) -> Instruction:
    """Add the organization's signature: its custodial wallet's through the custody door (KYC, the member's policy
    with its approver quorum, step-up, consent), or a self-held wallet's own (checked to be by that wallet)."""
    if instruction.status != "pending":
        raise InvalidState(f"the instruction is {instruction.status}")
    wallet = my_wallet(session, instruction, person.organization_id)
    require_verified(ctx, session, wallet)
    if signature is None:
        if wallet.kind != WalletKind.CUSTODIAL.value:
            raise InvalidRequest("a self-held wallet signs itself: POST .../signature")
        signature, _ = door.sign_instruction(
            ctx,
            session,
            person=person,
            wallet=wallet,
            instruction=instruction,
            doc=typed(hub, instruction),
            digest=digest(hub, instruction),
        )
    else:
        from eth_account import Account
        from eth_account.messages import encode_typed_data

        raw = bytes.fromhex(signature[2:])
        try:
            signer = Account.recover_message(encode_typed_data(full_message=typed(hub, instruction)), signature=raw)
        except Exception:
            signer = ""
        if signer.lower() != wallet.address.lower():
            market = hub.market
            if market is None or not market.erc1271_valid(wallet.address, digest(hub, instruction), raw):
                raise InvalidSignature(f"the signature is not by {wallet.address}")
        policy.enforce(session, instruction, wallet.organization_id, signer=person.user_id)
    instruction.signatures = {**instruction.signatures, wallet.address.lower(): signature}
    audit_log.append(
        session,
        actor=person.actor,
        action="instruction.signed",
        object_type="instruction",
        object_id=str(instruction.id),
        change={"wallet": wallet.address},
    )
    session.commit()
    return instruction


def submit_if_complete(
    ctx: GatewayContext, session: Session, hub: Hub, *, person: door.Person, instruction: Instruction
) -> service.Submitted | None:
    """Queue the step once every signature is in (substitution: sent by the seller's wallet)."""
    if instruction.status != "pending" or set(instruction.required) - set(instruction.signatures):
        return None
    actor, organization_id = person.actor, person.organization_id
    market = hub.require_market()
    m = message_of(instruction)
    repo = service.read_repo(market, instruction.repo_id)
    if instruction.kind == "Amendment":
        seller_sig = bytes.fromhex(instruction.signatures[repo.seller.lower()][2:])
        holder = (repo.holder or "").lower()
        holder_sig = bytes.fromhex(instruction.signatures.get(holder, instruction.signatures[repo.seller.lower()])[2:])
        amendment = tuple(m[field["name"]] for field in eip712.AMENDMENT)  # the struct in its typed-data order
        submitted = service.relayed_call(
            session,
            hub,
            actor=actor,
            kind="amendment",
            repo_id=instruction.repo_id,
            fn_name="amend",
            args=(amendment, seller_sig, holder_sig),
            organization_id=organization_id,
        )
    elif instruction.kind == "Substitution":
        seller = service.party_wallet(session, repo.seller, organization_id)
        if seller is None:
            return None  # the seller's organization submits once the holder has consented
        holder_sig = bytes.fromhex(instruction.signatures[(repo.holder or "").lower()][2:])
        submitted = service.party_call(
            ctx,
            session,
            hub,
            person=person,
            kind="substitution",
            repo_id=instruction.repo_id,
            wallet=seller,
            fn_name="substitute",
            args=(
                instruction.repo_id,
                to_checksum_address(m["newCollateralToken"]),
                m["newCollateralAmount"],
                holder_sig,
                m["nonce"],
                m["deadline"],
            ),
            approvals=[(m["newCollateralToken"], m["newCollateralAmount"])],
            organization_id=organization_id,
            chain_checked="",  # not asked before: the door asks the registry (this path still reads the chain late)
        )
    else:
        raise InvalidRequest(f"unknown instruction kind {instruction.kind}")
    instruction.status = "submitted"
    instruction.settlement_id = submitted.settlement.id if submitted.settlement is not None else None
    session.commit()
    return submitted
