"""Who may call which function: permissions per role, and the scopes an API client may hold."""

from __future__ import annotations

from enum import StrEnum

from gateway.db.models import Role


class Permission(StrEnum):
    ORGS_READ = "orgs:read"
    ORGS_MANAGE = "orgs:manage"
    USERS_MANAGE = "users:manage"
    KYC_READ = "kyc:read"
    KYC_SUBMIT = "kyc:submit"
    KYC_REVIEW = "kyc:review"
    WALLETS_READ = "wallets:read"
    WALLETS_MANAGE = "wallets:manage"
    CLIENTS_MANAGE = "clients:manage"
    AUDIT_READ = "audit:read"
    AUDIT_ANCHOR = "audit:anchor"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR_ADMIN: frozenset(
        {
            P.ORGS_READ,
            P.ORGS_MANAGE,
            P.USERS_MANAGE,
            P.KYC_READ,
            P.KYC_SUBMIT,
            P.WALLETS_READ,
            P.AUDIT_READ,
            P.AUDIT_ANCHOR,
        }
    ),
    Role.COMPLIANCE_OFFICER: frozenset(
        {P.ORGS_READ, P.KYC_READ, P.KYC_SUBMIT, P.KYC_REVIEW, P.WALLETS_READ, P.AUDIT_READ, P.AUDIT_ANCHOR}
    ),
    Role.APPROVER: frozenset(
        {P.ORGS_READ, P.KYC_READ, P.KYC_SUBMIT, P.WALLETS_READ, P.WALLETS_MANAGE, P.CLIENTS_MANAGE}
    ),
    Role.TRADER: frozenset({P.ORGS_READ, P.KYC_READ, P.WALLETS_READ, P.WALLETS_MANAGE}),
    Role.VIEWER: frozenset({P.ORGS_READ, P.KYC_READ, P.WALLETS_READ}),
}

OPERATOR_ROLES = frozenset({Role.OPERATOR_ADMIN, Role.COMPLIANCE_OFFICER})
MEMBER_ROLES = frozenset({Role.APPROVER, Role.TRADER, Role.VIEWER})

# What an API key or OAuth2 client may be granted: read access and KYC submission, never administration.
CLIENT_SCOPES = frozenset({P.ORGS_READ, P.KYC_READ, P.KYC_SUBMIT, P.WALLETS_READ})
