"""The RepoEngine as the gateway reads it: the ``Repo`` struct by field name, its status, amendment kinds.

The struct is decoded against the ABI's own component names, so a field added to or moved in the contract's
struct is either picked up by name or fails loudly here (a field the dataclass lacks), never read off by one.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import cache
from typing import Any

from contracts.eip712 import AMEND_COUPON_ELECTION, AMEND_RERATE, AMEND_ROLL


class RepoStatus(StrEnum):
    """``IRepoEngine.RepoStatus``, in the contract's order; the values are the API's and the database's words."""

    NONE = "none"
    OPEN = "open"
    MARGIN_CALLED = "margin_called"
    DEFAULTED = "defaulted"
    REPURCHASED = "repurchased"
    CLOSED_OUT = "closed_out"
    MIGRATED = "migrated"  # moved to the successor engine by both parties (contracts/UPGRADES.md)

    @classmethod
    def from_code(cls, code: int) -> RepoStatus:
        return list(cls)[code]

    @property
    def live(self) -> bool:
        """A position exists (it is burned at repurchase and close-out)."""
        return self in LIVE


LIVE = frozenset({RepoStatus.OPEN, RepoStatus.MARGIN_CALLED, RepoStatus.DEFAULTED})


class AmendmentKind(IntEnum):
    """The ``kind`` of a signed ``Amendment`` (contracts.eip712)."""

    ROLL = AMEND_ROLL
    RERATE = AMEND_RERATE
    COUPON_ELECTION = AMEND_COUPON_ELECTION  # newRate != 0: coupons reduce the repurchase price


@dataclass(frozen=True)
class RepoState:
    """``IRepoEngine.Repo``: amounts in the tokens' smallest units, times in Unix seconds, rates in 18 decimals."""

    seller: str
    buyer: str
    cash_token: str
    collateral_token: str
    purchase_price: int
    rate: int
    day_count_basis: int
    haircut_bps: int
    status: RepoStatus
    opened_at: int
    maturity: int
    notice_period: int
    margin_cure_period: int
    grace_period: int
    period_start: int
    cure_deadline: int
    crystallized_pd: int
    collateral_amount: int
    cash_margin: int
    min_transfer_amount: int
    margin_call_outstanding: int

    @classmethod
    def decode(cls, values: Any, components: list[dict[str, Any]]) -> RepoState:
        """The struct as ``getRepo`` returns it (a tuple in ABI order), by the ABI's field names."""
        if len(values) != len(components):
            raise ValueError(f"getRepo returned {len(values)} fields, the ABI has {len(components)}")
        fields: dict[str, Any] = {}
        for component, value in zip(components, values, strict=True):
            name = snake_case(str(component["name"]))
            fields[name] = RepoStatus.from_code(int(value)) if name == "status" else value
        missing = {f.name for f in dataclasses.fields(cls)} - fields.keys()
        extra = fields.keys() - {f.name for f in dataclasses.fields(cls)}
        if missing or extra:
            raise ValueError(f"the Repo struct differs from the binding: missing {missing}, unknown {extra}")
        return cls(**fields)


def snake_case(name: str) -> str:
    """``crystallizedPD`` -> ``crystallized_pd``, ``haircutBps`` -> ``haircut_bps``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@cache
def _repo_components_of(abi_key: str) -> list[dict[str, Any]]:
    from contracts.artifacts import load_artifact

    entry = next(e for e in load_artifact(abi_key).abi if e.get("type") == "function" and e["name"] == "getRepo")
    return list(entry["outputs"][0]["components"])


def repo_components() -> list[dict[str, Any]]:
    """The ``Repo`` struct's components in the committed RepoEngine ABI."""
    return _repo_components_of("RepoEngine")
