"""Lifecycle instructions that need signatures first: substitution and early repurchase (the holder consents, the
seller sends) and amendments (roll, re-rate: seller and holder both sign). Each signature passes the signing
member's policy (its approver quorum on the repo's facts); a custodial one is made by the custody door. Once every
required signature is in, the step is queued."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from contracts import eip712
from gateway.context import GatewayContext
from gateway.custody import door
from gateway.custody.kyc import require_verified
from gateway.db import audit_log
from gateway.db.models import Wallet, WalletKind
from gateway.exceptions import Conflict, InvalidRequest, NotFound
from gateway.policy import instructions as policy
from gateway.settlement import service
from gateway.settlement.hub import Hub
from gateway.settlement.schemas import InstructionPublic
from gateway.settlement_records import parties
from gateway.settlement_records.models import SENDABLE, Instruction, InstructionStatus
from gateway.settlement_records.steps import StepSpec
from gateway.trading.exceptions import InvalidSignature, InvalidState
from gateway.trading.models import Rejection, Subject
from gateway.trading.schemas import TypedDataDocument

INT_KEYS = {"repoId", "kind", "newMaturity", "newRate", "nonce", "deadline", "newCollateralAmount"}


@dataclass(frozen=True)
class Checked:
    """What the chain said about one instruction before the write: ``signed`` the signatures then in (the write
    refuses if they changed); ``repo`` as the engine held it (None: no chain attached); ``wallet`` the signing
    wallet the registry verified ("": not signing); ``contract_signature`` the self-held wallet's ERC-1271 accepted
    the signature brought; ``sender`` the substitution's sending wallet the registry verified and ``approvals``
    the approves it lacks."""

    instruction_id: uuid.UUID
    signed: frozenset[str]
    repo: service.OnChainRepo | None
    wallet: str = ""
    contract_signature: bool = False
    sender: str = ""
    approvals: tuple[StepSpec, ...] = ()

    def require_current(self, instruction: Instruction) -> None:
        """Refuse when another signature came in after the chain was asked (the check is then stale)."""
        if instruction.id != self.instruction_id or frozenset(instruction.signatures) != self.signed:
            raise Conflict("the instruction changed while it was being checked: try again")


def message_of(instruction: Instruction) -> dict[str, Any]:
    return {k: (int(v) if k in INT_KEYS else v) for k, v in instruction.message.items()}


def typed(hub: Hub, instruction: Instruction) -> dict[str, Any]:
    return eip712.typed_data(
        instruction.kind, message_of(instruction), chain_id=hub.chain_id, engine=hub.require_engine()
    )


def digest(hub: Hub, instruction: Instruction) -> bytes:
    return eip712.digest(instruction.kind, message_of(instruction), chain_id=hub.chain_id, engine=hub.require_engine())


def _rejection_reason(instruction: Instruction) -> str | None:
    """The approver's reason of a rejected instruction (read in the session that holds it; none otherwise)."""
    session = object_session(instruction)
    if instruction.status != "rejected" or session is None:
        return None
    return session.scalars(
        select(Rejection.reason).where(
            Rejection.subject == Subject.INSTRUCTION.value, Rejection.subject_id == instruction.id
        )
    ).first()


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
        rejection_reason=_rejection_reason(instruction),
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


def _recovered(hub: Hub, instruction: Instruction, signature: str) -> str:
    try:
        signable = encode_typed_data(full_message=typed(hub, instruction))
        return str(Account.recover_message(signable, signature=bytes.fromhex(signature[2:])))
    except Exception:
        return ""


def signature_by(hub: Hub, instruction: Instruction, wallet: Wallet, signature: str) -> bool:
    """Whether ``signature`` recovers to ``wallet`` (an EOA's): no chain call."""
    return _recovered(hub, instruction, signature).lower() == wallet.address.lower()


def load_with_repo(
    session: Session, hub: Hub, instruction_id: uuid.UUID, organization_id: uuid.UUID
) -> tuple[Instruction, service.OnChainRepo | None]:
    """The instruction, for an organization that must sign it or is the repo's seller (else 404), with the repo as
    the engine holds it (None: no chain attached). Asks the chain: call it in the read session, before the
    request's write transaction opens (gateway.chain.guard)."""
    instruction = session.get(Instruction, instruction_id)
    if instruction is None:
        raise NotFound("instruction not found")
    parties = list(instruction.required)
    repo = None
    if hub.market is not None:
        repo = service.read_repo(hub.market, instruction.repo_id)
        parties.append(repo.seller.lower())
    mine = [w for w in wallets_of(session, parties) if w.organization_id == organization_id]
    if not mine:
        raise NotFound("instruction not found")
    return instruction, repo


def load(session: Session, hub: Hub, instruction_id: uuid.UUID, organization_id: uuid.UUID) -> Instruction:
    """The instruction, for an organization that must sign it or is the repo's seller; else 404 (asks the chain:
    a read session's call)."""
    return load_with_repo(session, hub, instruction_id, organization_id)[0]


def get(session: Session, instruction_id: uuid.UUID) -> Instruction:
    instruction = session.get(Instruction, instruction_id)
    if instruction is None:
        raise NotFound("instruction not found")
    return instruction


def for_writing(session: Session, checked: Checked) -> Instruction:
    """The instruction in the write session, as it was when ``checked`` (no chain call)."""
    instruction = get(session, checked.instruction_id)
    checked.require_current(instruction)
    return instruction


def wallets_of(session: Session, addresses: list[str]) -> list[Wallet]:
    checksummed = [to_checksum_address(a) for a in addresses]
    return list(session.scalars(select(Wallet).where(Wallet.address.in_(checksummed))))


def my_wallet(session: Session, instruction: Instruction, organization_id: uuid.UUID) -> Wallet:
    for wallet in wallets_of(session, instruction.required):
        if wallet.organization_id == organization_id and wallet.address.lower() not in instruction.signatures:
            return wallet
    raise InvalidState("nothing left for this organization to sign")


def amendment_signatures(repo: service.OnChainRepo, signatures: dict[str, str]) -> tuple[bytes, bytes]:
    """The seller's and the holder's signatures of an amendment (one wallet both: the same signature twice)."""
    seller_sig = signatures[repo.seller.lower()]
    holder_sig = signatures.get((repo.holder or "").lower(), seller_sig)
    return bytes.fromhex(seller_sig[2:]), bytes.fromhex(holder_sig[2:])


def substitution_args(
    instruction: Instruction, repo: service.OnChainRepo, signatures: dict[str, str]
) -> tuple[Any, ...]:
    """``substitute``'s arguments, with the holder's consent among ``signatures``."""
    m = message_of(instruction)
    holder_sig = bytes.fromhex(signatures[(repo.holder or "").lower()][2:])
    return (
        instruction.repo_id,
        to_checksum_address(m["newCollateralToken"]),
        m["newCollateralAmount"],
        holder_sig,
        m["nonce"],
        m["deadline"],
    )


def sign(
    ctx: GatewayContext,
    session: Session,
    hub: Hub,
    *,
    person: door.Person,
    checked: Checked,
    signature: str | None,
) -> Instruction:
    """Add the organization's signature: its custodial wallet's through the custody door (KYC, the member's policy
    with its approver quorum, step-up, consent), or a self-held wallet's own (checked to be by that wallet). The
    chain was asked before (``instruction_checks.before_signing``): no chain call here."""
    instruction = for_writing(session, checked)
    if instruction.status != "pending":
        raise InvalidState(f"the instruction is {instruction.status}")
    wallet = my_wallet(session, instruction, person.organization_id)
    if wallet.address != checked.wallet:
        raise Conflict("the instruction changed while it was being checked: try again")
    require_verified(ctx, session, wallet, chain_checked=checked.wallet)
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
            chain_checked=checked.wallet,
        )
    else:
        by_key = signature_by(hub, instruction, wallet, signature)
        if not by_key and not checked.contract_signature:
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
    ctx: GatewayContext,
    session: Session,
    hub: Hub,
    *,
    person: door.Person,
    instruction: Instruction,
    checked: Checked,
) -> service.Submitted | None:
    """Queue the step once every signature is in (substitution: sent by the seller's wallet). The engine was asked
    before the write transaction (``instruction_checks``): no chain call here."""
    if instruction.status not in SENDABLE or set(instruction.required) - set(instruction.signatures):
        return None
    actor, organization_id = person.actor, person.organization_id
    repo = checked.repo
    if repo is None:
        hub.require_market()
        raise Conflict("the repo was not read: try again")
    if instruction.kind == "Amendment":
        m = message_of(instruction)
        seller_sig, holder_sig = amendment_signatures(repo, instruction.signatures)
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
            simulated=True,
        )
    elif instruction.kind == "Substitution":
        if not checked.sender:
            return None  # the seller's organization submits once the holder has consented
        seller = service.party_wallet(session, checked.sender, organization_id)
        if seller is None:
            raise Conflict("the instruction changed while it was being checked: try again")
        m = message_of(instruction)
        submitted = service.party_call(
            ctx,
            session,
            hub,
            person=person,
            kind="substitution",
            repo_id=instruction.repo_id,
            wallet=seller,
            fn_name="substitute",
            args=substitution_args(instruction, repo, instruction.signatures),
            approvals=[(m["newCollateralToken"], m["newCollateralAmount"])],
            organization_id=organization_id,
            chain_checked=checked.sender,  # asked in the read session by ``before_signing``/``before_submitting``
            prepared=list(checked.approvals),
        )
    elif instruction.kind == "EarlyRepurchase":
        if not checked.sender:
            return None  # the seller's organization submits once the holder has consented
        seller = service.party_wallet(session, checked.sender, organization_id)
        if seller is None:
            raise Conflict("the instruction changed while it was being checked: try again")
        m = message_of(instruction)
        holder_sig = bytes.fromhex(instruction.signatures[(repo.holder or "").lower()][2:])
        submitted = service.party_call(
            ctx,
            session,
            hub,
            person=person,
            kind="early_repurchase",
            repo_id=instruction.repo_id,
            wallet=seller,
            fn_name="repurchaseEarly",
            args=(instruction.repo_id, holder_sig, m["nonce"], m["deadline"]),
            approvals=[(str(repo.cash_token), 1)],  # a self-held seller approves RP itself
            organization_id=organization_id,
            chain_checked=checked.sender,
            prepared=list(checked.approvals),
        )
    else:
        raise InvalidRequest(f"unknown instruction kind {instruction.kind}")
    # a self-held seller's transaction stays handed out (sent again on request) until the indexer sees it on chain
    handed_out = submitted.settlement is None and submitted.transaction is not None
    claimed = session.execute(  # only if still sendable: an approver's rejection committed meanwhile wins
        update(Instruction)
        .where(Instruction.id == instruction.id, Instruction.status.in_(SENDABLE))
        .values(status=InstructionStatus.HANDED_OUT if handed_out else InstructionStatus.SUBMITTED)
        .execution_options(synchronize_session="evaluate")
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()  # nothing queued above is sent
        raise InvalidState("the instruction is no longer pending (rejected or submitted meanwhile)")
    if submitted.settlement is not None:
        parties.link_instruction(session, instruction, submitted.settlement)
    else:
        instruction.settlement_id = None
    session.commit()
    return submitted
