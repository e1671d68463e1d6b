"""What governance acts on, shared by `reponet up` (which deploys and hands over) and `reponet governance` (which
administers afterwards): the system contracts by artifact, the tokens, and the admin owners' key names."""

from __future__ import annotations

from gateway.datadir import TokenInfo

SYSTEM_ARTIFACTS = {
    "identity_registry": "IdentityRegistry",
    "account_rules": "AccountRules",
    "price_oracle": "PriceOracle",
    "repo_engine": "RepoEngine",
    "audit_anchor": "AuditAnchor",
}


def token_targets(cash_tokens: list[TokenInfo], bonds: list[TokenInfo]) -> list[tuple[str, str]]:
    return [*(("CashToken", t.address) for t in cash_tokens), *(("BondToken", t.address) for t in bonds)]


def owner_key_name(index: int) -> str:
    return f"admin-owner-{index}"
