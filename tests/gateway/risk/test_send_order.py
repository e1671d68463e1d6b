"""One tick's margin calls go out members interleaved: a price move that calls many repos of one member does not
hold back every other member's calls behind them, and no client has more than its share in flight."""

from __future__ import annotations

from gateway.risk.store import Intent
from gateway.risk.watcher import Due, MemberKey, interleaved


def _due(member: str, repo_id: int) -> Due:
    intent = Intent(f"{member}-{repo_id}", member, repo_id, "agreement", 1, 0, "pending")
    return Due(MemberKey(member, f"key-{member}"), intent, None)


def test_calls_are_sent_round_robin_over_members_keeping_each_members_order() -> None:
    due = [_due("a", 1), _due("a", 2), _due("a", 3), _due("b", 10), _due("c", 20), _due("c", 21)]
    order = [(d.key.name, d.intent.repo_id) for d in interleaved(due)]
    assert order == [("a", 1), ("b", 10), ("c", 20), ("a", 2), ("c", 21), ("a", 3)]


def test_nothing_due_sends_nothing() -> None:
    assert interleaved([]) == []
