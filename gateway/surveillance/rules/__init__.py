"""The surveillance rules, one module per typology. Each is a frozen dataclass: its fields are its configuration
(defaults measured on the synthetic market; override per deployment), ``check`` looks at one new trade against the
tape of earlier ones and returns a ``Hit`` naming the trades it implicates."""

from __future__ import annotations

from gateway.surveillance.rules.base import Rule, Tape, run_rules
from gateway.surveillance.rules.concentration import CollateralConcentration
from gateway.surveillance.rules.dormant import DormantThenLarge
from gateway.surveillance.rules.layering import Layering
from gateway.surveillance.rules.off_market import OffMarket
from gateway.surveillance.rules.round_trip import RoundTrip
from gateway.surveillance.rules.size import NewCounterpartyAtSize, SizeOutlier
from gateway.surveillance.rules.wash import WashTrade

__all__ = [
    "CollateralConcentration",
    "DormantThenLarge",
    "Layering",
    "NewCounterpartyAtSize",
    "OffMarket",
    "RoundTrip",
    "Rule",
    "SizeOutlier",
    "Tape",
    "WashTrade",
    "default_rules",
    "run_rules",
]


def default_rules() -> list[Rule]:
    return [
        WashTrade(),
        RoundTrip(),
        OffMarket(),
        Layering(),
        DormantThenLarge(),
        SizeOutlier(),
        NewCounterpartyAtSize(),
        CollateralConcentration(),
    ]
