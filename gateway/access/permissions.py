"""The one authorization vocabulary: every permission, what each role holds, and what an API client may be
granted as a scope. Routes declare a permission (``gateway.api.deps.Authorize``), never a role."""

from __future__ import annotations

from enum import StrEnum

from gateway.db.models import Role


class Permission(StrEnum):
    ACCOUNT = "account"  # one's own profile, session, step-up and password: people only, never a client scope
    ORGS_READ = "orgs:read"
    ORGS_MANAGE = "orgs:manage"  # onboard a member and invite its first administrator (operator)
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"  # invite, re-role and deactivate the people of one's own organization
    KYC_READ = "kyc:read"
    KYC_SUBMIT = "kyc:submit"
    KYC_REVIEW = "kyc:review"
    WALLETS_READ = "wallets:read"
    WALLETS_MANAGE = "wallets:manage"
    CLIENTS_MANAGE = "clients:manage"
    POLICY_READ = "policy:read"
    POLICY_MANAGE = "policy:manage"
    TRADES_READ = "trades:read"
    TRADES_WRITE = "trades:write"  # RFQs, quotes, trades, signatures, and the lifecycle steps of one's repos
    TRADES_APPROVE = "trades:approve"
    REPOS_READ = "repos:read"  # positions, repos, balances, settlements, instructions
    EVENTS_READ = "events:read"  # the WebSocket stream
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    MARKET_READ = "market:read"  # the instrument list
    MARKET_OPERATE = "market:operate"  # instruments, prices, cash issuance, pause (operator)
    AUDIT_READ = "audit:read"
    AUDIT_ANCHOR = "audit:anchor"
    REPORTS_READ = "reports:read"  # regulatory (SFTR) report files and their reconciliation
    RISK_ACT = "risk:act"  # the risk service acts on the member's repos, under its standing instructions
    PRICES_FEED = "prices:feed"  # the price feed's machine key: post combined prices, read manual entries; nothing else
    SURVEILLANCE_FEED = "surveillance:feed"  # the surveillance service reads every member's activity (operator key)
    SURVEILLANCE_ALERT = "surveillance:alert"  # the surveillance service raises alerts (operator key)
    MATCHING_RUN = "matching:run"  # the matching service takes GC instructions and answers them (operator key)
    CASES_READ = "cases:read"  # surveillance alerts and cases (compliance)
    CASES_WORK = "cases:work"  # assign, comment, attach evidence, escalate, close cases; file SARs (compliance)


P = Permission

_MEMBER_READS = frozenset(
    {
        P.ACCOUNT,
        P.ORGS_READ,
        P.USERS_READ,
        P.KYC_READ,
        P.WALLETS_READ,
        P.POLICY_READ,
        P.TRADES_READ,
        P.REPOS_READ,
        P.EVENTS_READ,
        P.WEBHOOKS_READ,
        P.MARKET_READ,
    }
)
_OPERATOR_READS = frozenset(
    {P.ACCOUNT, P.ORGS_READ, P.USERS_READ, P.KYC_READ, P.WALLETS_READ, P.REPOS_READ, P.MARKET_READ}
)
# Reads that show operator staff a member's data: each such request is an audited operator view.
OPERATOR_VIEWS = frozenset({P.ORGS_READ, P.USERS_READ, P.KYC_READ, P.WALLETS_READ, P.REPOS_READ, P.REPORTS_READ})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Operator staff administer the network; they never trade, sign, or manage a member's people, keys or policy.
    Role.OPERATOR_ADMIN: _OPERATOR_READS
    | {P.ORGS_MANAGE, P.USERS_MANAGE, P.KYC_SUBMIT, P.MARKET_OPERATE, P.AUDIT_READ, P.AUDIT_ANCHOR},
    Role.COMPLIANCE_OFFICER: _OPERATOR_READS
    | {P.KYC_SUBMIT, P.KYC_REVIEW, P.AUDIT_READ, P.AUDIT_ANCHOR, P.REPORTS_READ}
    | {P.SURVEILLANCE_FEED, P.SURVEILLANCE_ALERT, P.CASES_READ, P.CASES_WORK},
    # A member's administrators own its people, API clients, policy and webhooks.
    Role.MEMBER_ADMIN: _MEMBER_READS
    | {
        P.USERS_MANAGE,
        P.KYC_SUBMIT,
        P.WALLETS_MANAGE,
        P.CLIENTS_MANAGE,
        P.POLICY_MANAGE,
        P.WEBHOOKS_MANAGE,
        P.REPORTS_READ,
    },
    Role.APPROVER: _MEMBER_READS
    | {P.KYC_SUBMIT, P.WALLETS_MANAGE, P.WEBHOOKS_MANAGE, P.TRADES_WRITE, P.TRADES_APPROVE},
    Role.TRADER: _MEMBER_READS | {P.WALLETS_MANAGE, P.TRADES_WRITE},
    Role.VIEWER: _MEMBER_READS,
}

OPERATOR_ROLES = frozenset({Role.OPERATOR_ADMIN, Role.COMPLIANCE_OFFICER})
MEMBER_ROLES = frozenset({Role.MEMBER_ADMIN, Role.APPROVER, Role.TRADER, Role.VIEWER})
ADMIN_ROLES = frozenset({Role.OPERATOR_ADMIN, Role.MEMBER_ADMIN})

# What an API key or OAuth2 client may be granted: reads and KYC submission, never administration, trading or
# signing (those need a person, most with a fresh TOTP code). A scope limits reads as much as writes. The one act:
# ``risk:act`` lets the risk service call margin (a relayed step, no member signature) on repos the member holds,
# and only under an effective agreement whose standing instruction allows it (gateway.risk.routes); and ask for
# reminders, defaults and excess returns on the member's own repos, which the gateway prepares as proposals or runs
# under the member's standing instruction, consented by that instruction's approver (gateway.risk.cure_routes).
# And ``prices:feed`` (below): the operator's price feed, a machine that posts prices and may do nothing else.
# ``surveillance:feed`` and ``surveillance:alert`` are the surveillance service's two: read the activity feed and
# raise alerts, honoured only on a key of the operator's organization (gateway.surveillance.routes).
# ``matching:run`` is the matching service's: take the GC book's instructions and answer them; each fill it makes
# settles only within both members' signed orders (gateway.matching, IRepoGcSettlement).
CLIENT_SCOPES = frozenset(
    {
        P.ORGS_READ,
        P.USERS_READ,
        P.KYC_READ,
        P.KYC_SUBMIT,
        P.WALLETS_READ,
        P.POLICY_READ,
        P.TRADES_READ,
        P.REPOS_READ,
        P.EVENTS_READ,
        P.WEBHOOKS_READ,
        P.MARKET_READ,
        P.REPORTS_READ,
        P.RISK_ACT,
        P.PRICES_FEED,
        P.SURVEILLANCE_FEED,
        P.SURVEILLANCE_ALERT,
        P.MATCHING_RUN,
    }
)
# Scopes only a key of the operator's organization may hold (gateway.clients.service refuses them to a member's).
OPERATOR_SCOPES = frozenset({P.PRICES_FEED, P.SURVEILLANCE_FEED, P.SURVEILLANCE_ALERT, P.MATCHING_RUN})
# Of those, the ones never created through the clients API, only on the gateway's host (``reponet risk feed-grant``,
# ``reponet up``): ``prices:feed`` posts the oracle's prices (the price route's bound and four eyes for a large move
# still apply; the feed's routes refuse a key of any other organization).
HOST_ONLY_SCOPES = frozenset({P.PRICES_FEED, P.MATCHING_RUN})
