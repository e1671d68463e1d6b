"""What every rule shares: the tape of recent trades it looks back over, and the rule interface.

Rules run on a stream: each trade is checked against the tape of earlier trades, then added to it. So the same code
serves live monitoring (one trade at a time, as the indexer sees them) and the evaluation (a whole market replayed
in time order)."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from gateway.surveillance.trades import DAY, Hit, Trade


@dataclass
class MemberHistory:
    """What the tape remembers of one member beyond the window: sizes seen, counterparties, last activity."""

    sizes: list[float] = field(default_factory=list)
    counterparties: set[str] = field(default_factory=set)
    last_time: int | None = None


@dataclass
class Tape:
    """Trades of the last ``window_seconds`` in time order, and each member's longer history."""

    window_seconds: int = 2 * DAY
    recent: deque[Trade] = field(default_factory=deque)
    members: dict[str, MemberHistory] = field(default_factory=lambda: defaultdict(MemberHistory))

    def add(self, trade: Trade) -> None:
        self.recent.append(trade)
        while self.recent and self.recent[0].time < trade.time - self.window_seconds:
            self.recent.popleft()
        for name, other in ((trade.member, trade.counterparty), (trade.counterparty, trade.member)):
            history = self.members[name]
            history.sizes.append(trade.cash)
            history.counterparties.add(other)
            history.last_time = trade.time

    def since(self, time: int) -> Iterable[Trade]:
        return (t for t in self.recent if t.time >= time)


class Rule(Protocol):
    """A rule: a name, the typology it targets, and a check of one new trade against the tape before it."""

    @property
    def name(self) -> str: ...

    def check(self, trade: Trade, tape: Tape) -> Hit | None: ...


def run_rules(rules: Iterable[Rule], trades: Iterable[Trade], tape: Tape | None = None) -> list[Hit]:
    """Replay trades in time order through every rule; the hits in the order raised."""
    tape = tape if tape is not None else Tape()
    rules = list(rules)
    hits: list[Hit] = []
    for trade in sorted(trades, key=lambda t: (t.time, t.trade_id)):
        hits.extend(hit for rule in rules if (hit := rule.check(trade, tape)) is not None)
        tape.add(trade)
    return hits
