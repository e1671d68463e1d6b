"""Errors of trading, policy, signing and settlement (stable ``type`` slugs under the gateway's root)."""

from __future__ import annotations

from gateway.exceptions import Conflict, GatewayError, InvalidRequest, PermissionDenied


class PolicyBlocked(PermissionDenied):
    title = "Blocked by the organization's policy"
    type_slug = "policy-blocked"


class ApprovalRequired(Conflict):
    title = "The policy requires approvals first"
    type_slug = "approval-required"


class WalletNotVerified(PermissionDenied):
    title = "The wallet is not KYC-verified"
    type_slug = "wallet-not-verified"


class InvalidSignature(InvalidRequest):
    title = "The signature is not by the registered wallet"
    type_slug = "invalid-signature"


class InvalidState(Conflict):
    title = "Not possible in the object's current state"
    type_slug = "invalid-state"


class TermsChanged(Conflict):
    title = "The trade's terms are not the ones the signer read"
    type_slug = "terms-changed"


class StepWouldRevert(Conflict):
    title = "The chain would refuse this step"
    type_slug = "step-would-revert"


class SettlementUnavailable(GatewayError):
    status = 503
    title = "Settlement is not configured (no engine address or chain)"
    type_slug = "settlement-unavailable"


class CollateralMaturesFirst(InvalidRequest):
    """The engine does not redeem escrowed bonds (contracts/SECURITY.md): collateral must outlive the repo, so the
    gateway refuses terms whose bond matures at or before the repo's maturity."""

    status = 422
    title = "The collateral matures before the repo"
    type_slug = "collateral-matures-first"


class AmountTooLarge(InvalidRequest):
    """The engine stores amounts packed (contracts/SECURITY.md, "Storage is packed") and refuses larger ones at open
    (`RepoAmountTooLarge`): refused here, before anyone signs terms that can never settle."""

    status = 422
    title = "Amount too large for the engine"
    type_slug = "amount-too-large"
