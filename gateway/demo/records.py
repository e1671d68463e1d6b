"""What the demo story keeps as it goes: its two members, the repos it opened (with the engine's events), and the
summary it ends with (printed, and given as JSON with ``--json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount

from gateway.ops.client import UserSession

# The engine's repo statuses by number, and the events a repo's timeline shows.
STATUS = ["NONE", "OPEN", "MARGIN_CALLED", "DEFAULTED", "REPURCHASED", "CLOSED_OUT", "MIGRATED"]
EVENTS = (
    "RepoOpened",
    "MarginCalled",
    "MarginPosted",
    "MarginCallCured",
    "CouponManufactured",
    "RepoRepurchased",
    "RepoDefaulted",
    "RepoClosedOut",
    "RepoShortfallRecorded",
)


@dataclass
class Member:
    key: str
    name: str
    lei: str
    session: UserSession
    wallet: LocalAccount
    org_id: str = ""
    custodial: str = ""
    wallet_id: str = ""
    admin: UserSession | None = None  # the member's administrator (API keys: the risk service's grant)


@dataclass
class RepoRecord:
    label: str
    repo_id: int
    seller: str
    buyer: str
    timeline: list[tuple[int, int, str]] = field(default_factory=list)
    status: str = ""
    maturity: int = 0
    grace: int = 0
    purchase_price: int = 0
    collateral_in_escrow: int = 0
    trade_id: str = ""


@dataclass
class DemoResult:
    tag: str
    members: dict[str, dict[str, Any]]
    repos: list[dict[str, Any]]
    audit: dict[str, Any]
    chain_steps: list[str]
    gateway_steps: list[str]
    reports: dict[str, Any] = field(default_factory=dict)  # the SFTR files the story filed (gateway.demo.reports)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "members": self.members,
            "repos": self.repos,
            "audit": self.audit,
            "chain_steps": self.chain_steps,
            "gateway_steps": self.gateway_steps,
            "reports": self.reports,
        }
