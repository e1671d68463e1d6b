"""Every error the gateway raises on purpose, under one root, and the one mapping to RFC 9457 problem JSON."""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    """Root of the gateway's errors. ``status`` and ``title`` shape the problem+json answer."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    type_slug: ClassVar[str] = "internal"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(GatewayError):
    status = 400
    title = "Invalid request"
    type_slug = "invalid-request"


class InvalidCursor(InvalidRequest):
    title = "Invalid cursor"
    type_slug = "invalid-cursor"


class NotAuthenticated(GatewayError):
    status = 401
    title = "Not authenticated"
    type_slug = "not-authenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class MfaRequired(NotAuthenticated):
    title = "Multi-factor authentication required"
    type_slug = "mfa-required"


class PermissionDenied(GatewayError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class StepUpRequired(PermissionDenied):
    title = "Step-up authentication required"
    type_slug = "step-up-required"


class NotFound(GatewayError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(GatewayError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class IdempotencyKeyReused(GatewayError):
    status = 422
    title = "Idempotency key reused for a different request"
    type_slug = "idempotency-key-reused"


class IdempotentReplay(GatewayError):
    """Not a failure: the request was already processed; the stored answer is sent again."""

    status = 200
    title = "Replayed"
    type_slug = "replayed"

    def __init__(self, status_code: int, media_type: str, body: bytes) -> None:
        super().__init__("replayed")
        self.status_code = status_code
        self.media_type = media_type
        self.body = body


class FourEyesViolation(Conflict):
    title = "Four-eyes rule: the approver must not be the submitter"
    type_slug = "four-eyes"


class PayloadTooLarge(GatewayError):
    status = 413
    title = "Request too large"
    type_slug = "payload-too-large"


class RateLimited(GatewayError):
    status = 429
    title = "Too many requests"
    type_slug = "rate-limited"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class KeyManagementError(GatewayError):
    """A key-management failure (unknown or retired master-key version, failed authentication tag)."""

    status = 500
    title = "Key management error"
    type_slug = "key-management"


class MasterKeyRetired(KeyManagementError):
    title = "Master key version retired"
    type_slug = "master-key-retired"


class ChainError(GatewayError):
    status = 502
    title = "Chain unavailable or call failed"
    type_slug = "chain"


class ChainUnavailable(ChainError):
    """The node did not answer (an outage, not a decision): try again later. Reads that a decision rests on (KYC,
    balances, signatures) fail closed with this, never with a verdict."""

    status = 503
    title = "The chain is out of reach; try again later"
    type_slug = "chain-unavailable"
    retry_after = 5

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UnknownSender(ChainError):
    """An outbox step names a sender that is neither a custodial wallet nor one of the gateway's accounts."""


class WriteTransactionOpen(ChainError):
    """A JSON-RPC call was made while this thread held an open database write transaction (SQLite's write lock):
    every other writer would wait for the node. Raised only where the guard is on (tests)."""

    status = 500
    title = "Chain call inside a database write transaction"
    type_slug = "chain-call-in-write-transaction"


class ContractRefused(ChainError):
    """A contract reverted with one of its custom errors: the node answered no to something the client can fix
    (``contract_error`` names it, e.g. ``IdentityNoWallets``), not an outage."""

    status = 409
    title = "The contract refused the call"
    type_slug = "contract-refused"


class NotAToken(GatewayError):
    status = 422
    title = "Not a token"
    type_slug = "not-a-token"


class NotListedInEngine(GatewayError):
    """The repo engine has not listed the token: a repo naming it would revert (`RepoTokenNotListed`)."""

    status = 409
    title = "Not listed in the repo engine"
    type_slug = "not-listed-in-engine"


class AuditChainBroken(GatewayError):
    status = 500
    title = "Audit chain broken"
    type_slug = "audit-chain-broken"

    def __init__(self, sequence: int, reason: str) -> None:
        super().__init__(f"entry {sequence}: {reason}")
        self.sequence = sequence
        self.reason = reason


class LeadershipLost(GatewayError):
    """A worker's write transaction began after its process stopped being the leader of its kind (gateway.leader):
    nothing of it is committed, and the process steps down."""

    title = "No longer the leader"
    type_slug = "leadership-lost"

    def __init__(self, kind: str) -> None:
        super().__init__(f"no longer the leader of {kind}")
        self.kind = kind


PROBLEM_BASE = "https://reponet.dev/problems/"


def problem_body(status: int, title: str, detail: str, slug: str, instance: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem details object; ``code`` is the stable machine-readable name (the last part of
    ``type``) that clients branch on."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "code": slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update(extra)
    return body
