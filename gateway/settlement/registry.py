"""The identity registry's and the audit anchor's writes as outbox settlements.

A KYC decision, a freeze, unfreeze or revocation, a new wallet of an approved member and an audit anchor are
recorded with their transaction in the database transaction that decides them (a settlement and its steps); the
relayer then sends each from its purpose's own account (the KYC agent's for the registry, the anchoring account's
for anchors) with its durable nonce allocator, resends on transport errors, and a finality hook below records
what the chain now says: the member's identity id and whitelisted wallets, the anchor's record. No request waits
for a receipt, and no JSON-RPC call is made while a database write transaction is open.

What the database decides takes effect at once on the gateway's side (a frozen member's custodial wallets stop
signing at once); the chain follows when the settlement is final (GET /v1/settlements/{id}, .../wait).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web3 import Web3
from web3.logs import DISCARD

from gateway.db import audit_log
from gateway.db.models import AuditAnchorRecord, KycStatus, Organization, Wallet
from gateway.settlement.hub import Hub
from gateway.settlement.market import Market
from gateway.settlement.relay_loop import Hook
from gateway.settlement_records.models import ChainStep, Settlement, SettlementStatus
from gateway.settlement_records.steps import StepSpec, enqueue

logger = logging.getLogger(__name__)


class WriteKind(StrEnum):
    """The settlement kinds of the registry's and the anchor's writes."""

    KYC_REGISTER = "kyc_register"  # a new identity with the member's wallets
    KYC_RENEW = "kyc_renew"  # a renewed review: jurisdiction, class, expiry; wallets added meanwhile
    WALLET_WHITELIST = "wallet_whitelist"  # an approved member's new wallet joins its identity
    KYC_FREEZE = "kyc_freeze"
    KYC_UNFREEZE = "kyc_unfreeze"
    KYC_REVOKE = "kyc_revoke"
    AUDIT_ANCHOR = "audit_anchor"


ACTIONS = {"freeze": WriteKind.KYC_FREEZE, "unfreeze": WriteKind.KYC_UNFREEZE, "revoke": WriteKind.KYC_REVOKE}
FUNCTIONS = {"freeze": "freezeIdentity", "unfreeze": "unfreezeIdentity", "revoke": "revokeIdentity"}


def registry_outbox(hub: Hub | None) -> Market | None:
    """The market whose relayer sends the registry's writes (None: no relayer configured, the chain client
    writes directly as before; in-memory registries of tests and demos)."""
    market = hub.market if hub is not None else None
    return market if market is not None and market.registry is not None else None


def anchor_outbox(hub: Hub | None) -> Market | None:
    market = hub.market if hub is not None else None
    return market if market is not None and market.audit_anchor is not None else None


def _registry_step(market: Market, label: str, fn_name: str, *args: Any) -> StepSpec:
    assert market.registry is not None and market.kyc_agent is not None
    return StepSpec(
        label=label,
        to=market.registry.address,
        data=market.encode(market.registry, fn_name, *args),
        sender=market.kyc_agent.address,
    )


def register(
    session: Session,
    market: Market,
    *,
    organization: Organization,
    lei_hash: bytes,
    jurisdiction: str,
    investor_class: int,
    kyc_expiry: int,
    wallets: list[Wallet],
    actor: str,
) -> Settlement:
    """Queue the member's identity (new, or renewed when it has one) with the wallets not yet whitelisted."""
    if organization.onchain_identity_id is None:
        kind = WriteKind.KYC_REGISTER
        steps = [
            _registry_step(
                market,
                "register_identity",
                "registerIdentity",
                lei_hash,
                jurisdiction.encode("ascii"),
                investor_class,
                kyc_expiry,
                [Web3.to_checksum_address(w.address) for w in wallets],
            )
        ]
    else:
        identity = organization.onchain_identity_id
        kind = WriteKind.KYC_RENEW
        steps = [
            _registry_step(
                market,
                "update_identity",
                "updateIdentity",
                identity,
                jurisdiction.encode("ascii"),
                investor_class,
                kyc_expiry,
            ),
            *(_add_wallet(market, identity, w.address) for w in wallets),
        ]
    return enqueue(session, kind=kind.value, requested_by=actor, steps=steps, organization_id=organization.id)


def _add_wallet(market: Market, identity_id: int, address: str) -> StepSpec:
    return _registry_step(market, "add_wallet", "addWallet", identity_id, Web3.to_checksum_address(address))


def whitelist(session: Session, market: Market, *, organization: Organization, address: str, actor: str) -> Settlement:
    """Queue an approved member's new wallet into its identity (the caller knows the identity id)."""
    assert organization.onchain_identity_id is not None
    return enqueue(
        session,
        kind=WriteKind.WALLET_WHITELIST.value,
        requested_by=actor,
        steps=[_add_wallet(market, organization.onchain_identity_id, address)],
        organization_id=organization.id,
    )


def kyc_action(
    session: Session, market: Market, *, organization: Organization, action: str, actor: str
) -> Settlement | None:
    """Queue a freeze, unfreeze or revocation of the member's identity (None: no identity on chain yet; the
    registration's finality hook then carries the member's state over)."""
    identity = organization.onchain_identity_id
    if identity is None:
        return None
    return enqueue(
        session,
        kind=ACTIONS[action].value,
        requested_by=actor,
        steps=[_registry_step(market, f"{action}_identity", FUNCTIONS[action], identity)],
        organization_id=organization.id,
    )


def registration_pending(session: Session, organization_id: uuid.UUID) -> bool:
    """Whether the member's identity is still on its way to the registry."""
    found = session.scalar(
        select(Settlement.id).where(
            Settlement.organization_id == organization_id,
            Settlement.kind == WriteKind.KYC_REGISTER.value,
            Settlement.status == SettlementStatus.PENDING.value,
        )
    )
    return found is not None


def anchor(session: Session, market: Market, *, sequence: int, head_hash: str, actor: str) -> Settlement:
    """Queue the audit head's anchor, sent from the anchoring account; recorded as anchored once final."""
    assert market.audit_anchor is not None and market.anchorer is not None
    step = StepSpec(
        label="anchor",
        to=market.audit_anchor.address,
        data=market.encode(market.audit_anchor, "anchor", sequence, bytes.fromhex(head_hash.removeprefix("0x"))),
        sender=market.anchorer.address,
    )
    return enqueue(session, kind=WriteKind.AUDIT_ANCHOR.value, requested_by=actor, steps=[step])


def anchor_pending(session: Session) -> bool:
    found = session.scalar(
        select(Settlement.id).where(
            Settlement.kind == WriteKind.AUDIT_ANCHOR.value, Settlement.status == SettlementStatus.PENDING.value
        )
    )
    return found is not None


@dataclass(frozen=True)
class QueuedAnchor:
    settlement: Settlement
    sequence: int
    head_hash: str


def anchor_head(session: Session, market: Market, *, actor: str, only_if_new: bool) -> QueuedAnchor | None:
    """Record the anchoring decision in the log and queue the resulting head's anchor, in one transaction (None:
    nothing new since the last anchor with ``only_if_new``, or an anchor is still on its way)."""
    current = audit_log.head(session)
    last = session.scalar(select(func.max(AuditAnchorRecord.sequence)))
    if anchor_pending(session) or (only_if_new and (current is None or (last is not None and last >= current[0]))):
        session.rollback()
        return None
    audit_log.append(session, actor=actor, action="audit.anchor", object_type="audit", object_id="head", change={})
    session.flush()
    head = audit_log.head(session)
    assert head is not None
    sequence, head_hash = head
    queued = anchor(session, market, sequence=sequence, head_hash=head_hash, actor=actor)
    session.commit()
    return QueuedAnchor(queued, sequence, head_hash)


# ------------------------------------------------------------------------------------------------ finality hooks
def _inputs(contract: Any, step: ChainStep) -> tuple[str, dict[str, Any]]:
    fn, args = contract.decode_function_input(step.data)
    return str(fn.fn_name), dict(args)


def _identity_from(market: Market, step: ChainStep) -> int:
    """The identity id the registration's receipt announces (``IdentityRegistered``)."""
    assert step.tx_hash is not None and market.registry is not None
    receipt = market.receipt(step.tx_hash)
    for event in market.registry.events.IdentityRegistered().process_receipt(receipt, errors=DISCARD):
        return int(event["args"]["identityId"])
    raise LookupError(f"registration {step.tx_hash} announced no identity")


def _mark_whitelisted(session: Session, organization_id: uuid.UUID | None, addresses: set[str]) -> None:
    if not addresses:
        return
    for wallet in session.scalars(select(Wallet).where(Wallet.organization_id == organization_id)):
        if wallet.address.lower() in addresses:
            wallet.onchain_whitelisted = True


def _audit_final(session: Session, settlement: Settlement, change: dict[str, Any]) -> None:
    audit_log.append(
        session,
        actor="system:relayer",
        action=f"chain.{settlement.kind}.final",
        object_type="organization",
        object_id=str(settlement.organization_id),
        change={"settlement": str(settlement.id), **change},
    )


def on_registered(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    """The identity is on chain: record its id and the wallets it holds; whatever the member became meanwhile
    (a wallet added, a freeze or revocation decided) follows it to the chain now."""
    assert market.registry is not None
    identity = _identity_from(market, steps[0])
    _, args = _inputs(market.registry, steps[0])
    registered = {str(w).lower() for w in args["wallets"]}
    organization = session.get(Organization, settlement.organization_id)
    assert organization is not None
    organization.onchain_identity_id = identity
    _mark_whitelisted(session, organization.id, registered)
    _audit_final(session, settlement, {"identity_id": identity, "wallets": sorted(registered)})
    later = [
        w
        for w in session.scalars(select(Wallet).where(Wallet.organization_id == organization.id))
        if not w.onchain_whitelisted and w.address.lower() not in registered
    ]
    for wallet in later:
        whitelist(session, market, organization=organization, address=wallet.address, actor="system:relayer")
    carried = {KycStatus.FROZEN.value: "freeze", KycStatus.REVOKED.value: "revoke"}.get(organization.kyc_status)
    if carried is not None:
        kyc_action(session, market, organization=organization, action=carried, actor="system:relayer")


def on_wallets_added(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    """A renewal's or a new wallet's ``addWallet`` steps are final: those wallets are whitelisted."""
    assert market.registry is not None
    added = set()
    for step in steps:
        name, args = _inputs(market.registry, step)
        if name == "addWallet":
            added.add(str(args["wallet"]).lower())
    _mark_whitelisted(session, settlement.organization_id, added)
    _audit_final(session, settlement, {"wallets": sorted(added)})


def on_action_final(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    _audit_final(session, settlement, {"tx_hash": steps[-1].tx_hash})


def on_anchored(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    """The anchor is final: the database's copy of the anchors gains it (no audit entry: it would be a new head)."""
    assert market.audit_anchor is not None
    _, args = _inputs(market.audit_anchor, steps[0])
    sequence, head_hash = int(args["sequence"]), bytes(args["headHash"]).hex()
    known = session.scalar(select(AuditAnchorRecord.id).where(AuditAnchorRecord.sequence == sequence))
    if known is None:
        session.add(AuditAnchorRecord(sequence=sequence, head_hash=head_hash, tx_hash=steps[0].tx_hash or ""))
    logger.info("anchored audit head %s at sequence %d in %s", head_hash, sequence, steps[0].tx_hash)


def on_failed(session: Session, settlement: Settlement, steps: list[ChainStep], market: Market) -> None:
    """The chain refused (a revert, a refused transaction): the operator sees it in the audit log and the
    settlement's error; the database's decision stands, the chain does not follow it."""
    if settlement.kind == WriteKind.AUDIT_ANCHOR.value:
        logger.warning("anchor %s failed: %s", settlement.id, settlement.error)
        return
    audit_log.append(
        session,
        actor="system:relayer",
        action=f"chain.{settlement.kind}.failed",
        object_type="organization",
        object_id=str(settlement.organization_id),
        change={"settlement": str(settlement.id), "error": (settlement.error or "")[:500]},
    )


HOOKS: dict[str, Hook] = {
    WriteKind.KYC_REGISTER.value: on_registered,
    WriteKind.KYC_RENEW.value: on_wallets_added,
    WriteKind.WALLET_WHITELIST.value: on_wallets_added,
    WriteKind.KYC_FREEZE.value: on_action_final,
    WriteKind.KYC_UNFREEZE.value: on_action_final,
    WriteKind.KYC_REVOKE.value: on_action_final,
    WriteKind.AUDIT_ANCHOR.value: on_anchored,
}
FAILURE_HOOKS: dict[str, Hook] = {kind.value: on_failed for kind in WriteKind}
