"""Rules on the gateway's activity rather than on agreed terms: each looks at one feed item (an audit entry, with the
organization and repo the feed attaches) and keeps what it needs of earlier ones. Their fields are their settings,
like the trade rules'; the state below them is not a setting (``init=False``) and starts empty on every replace.

- ``rapid_open_close``: a repo opened and then repurchased early or terminated within a short window, repeatedly
  by the same member. Typology: churning repos to move cash and collateral back and forth, or to generate turnover
  or fees, with no economic exposure kept (a cousin of the wash trade that settles on chain).
- ``repeated_failures``: failed sign-ins of a known user and refused signatures of a member's wallet, many within a
  window. Typology: credential stuffing or a taken-over login probing an account, or someone pushing trades the
  member's own policy or custody keeps refusing.
- ``sanctions_rescreen``: a member or wallet that matches the sanctions list when the list changed (the gateway
  screens everyone again on a new list and records each hit). Typology: a member that became a sanctioned party
  (or its owner did) after it was onboarded."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# feed actions that open a repo and that close it early (a repurchase, early or at the seller's call, or a
# termination of an open repo, as asked through the gateway; or a repurchase or termination notice final on chain,
# which is how a self-held party's own shows: the first of a repo's closes counts)
OPENED = "repo.opened"
CLOSING = frozenset(
    {"repo.repurchase", "repo.early_repurchase", "repo.terminate", "repo.repurchased", "repo.termination_noticed"}
)
# feed actions that are an attributable failed attempt: a known user's failed sign-in, a refused signature
FAILURES = frozenset({"auth.login_failed", "custody.refused"})
LIST_CHANGED = "sanctions.list_changed"
OPEN_REPOS_KEPT = 10_000
SANCTIONS_HIT = "sanctions.hit"


def seconds(at: str) -> int:
    return int(datetime.fromisoformat(at).timestamp())


@dataclass(frozen=True)
class EventHit:
    """An activity rule's finding: whom it concerns, the feed items behind it, a stable key and why."""

    rule: str
    organization_id: str
    key: str
    sequences: tuple[int, ...]
    score: float
    reason: str


@dataclass
class RapidOpenClose:
    window_seconds: int = 3_600  # a close this soon after the open is "rapid"
    min_count: int = 3  # rapid open-and-closes by the member within the lookback that raise an alert
    lookback_seconds: int = 7 * 86_400
    name: str = "rapid_open_close"
    opened: dict[str, int] = field(default_factory=dict, init=False, repr=False)  # repo id -> opened at
    rapid: dict[str, deque[tuple[int, int, str]]] = field(
        default_factory=lambda: defaultdict(deque), init=False, repr=False
    )  # member -> (closed at, feed sequence, repo id)

    def observe(self, item: dict[str, Any]) -> EventHit | None:
        repo = item.get("repo")
        if item["object_type"] != "repo" or not repo:
            return None
        repo_id, now = str(repo["repo_id"]), seconds(item["at"])
        if item["action"] == OPENED:
            self.opened[repo_id] = now
            if len(self.opened) > OPEN_REPOS_KEPT:  # repos held past the window can no longer close rapidly
                self.opened = {r: t for r, t in self.opened.items() if t >= now - self.window_seconds}
            return None
        if item["action"] not in CLOSING or repo_id not in self.opened:
            return None
        held = now - self.opened.pop(repo_id)
        if held > self.window_seconds:
            return None
        member = str(repo.get("seller_org") or "")
        if not member:
            return None
        tape = self.rapid[member]
        tape.append((now, item["sequence"], repo_id))
        while tape and tape[0][0] < now - self.lookback_seconds:
            tape.popleft()
        if len(tape) < self.min_count:
            return None
        repos = ", ".join(r for _, _, r in tape)
        return EventHit(
            self.name,
            member,
            f"rule:{self.name}:{member}:{repo_id}",
            tuple(s for _, s, _ in tape),
            min(1.0, len(tape) / (2 * self.min_count)),
            f"{len(tape)} repos of {member} opened and closed within {self.window_seconds} s each "
            f"(repos {repos}; the last held {held} s)",
        )


@dataclass
class RepeatedFailures:
    min_count: int = 5  # failures of one subject within the window that raise an alert
    window_seconds: int = 900
    name: str = "repeated_failures"
    recent: dict[str, deque[tuple[int, int, str]]] = field(
        default_factory=lambda: defaultdict(deque), init=False, repr=False
    )  # subject (user or wallet) -> (at, feed sequence, action)

    def observe(self, item: dict[str, Any]) -> EventHit | None:
        org = item.get("organization_id")
        if item["action"] not in FAILURES or not org:
            return None
        subject, now = f"{item['object_type']}:{item['object_id']}", seconds(item["at"])
        tape = self.recent[subject]
        tape.append((now, item["sequence"], item["action"]))
        while tape and tape[0][0] < now - self.window_seconds:
            tape.popleft()
        if len(tape) < self.min_count:
            return None
        kinds = sorted({a for _, _, a in tape})
        hit = EventHit(
            self.name,
            str(org),
            f"rule:{self.name}:{subject}:{tape[0][1]}",
            tuple(s for _, s, _ in tape),
            min(1.0, len(tape) / (2 * self.min_count)),
            f"{len(tape)} failed attempts ({', '.join(kinds)}) on {subject} within {self.window_seconds} s",
        )
        tape.clear()  # the next alert needs a fresh run of failures
        return hit


@dataclass
class SanctionsRescreen:
    min_score: float = 0.0  # hits scoring below this (0-100, the screening's fuzzy score) are not alerted
    name: str = "sanctions_rescreen"
    list_digest: str = field(default="", init=False, repr=False)  # the list the latest re-screening used

    def observe(self, item: dict[str, Any]) -> EventHit | None:
        if item["action"] == LIST_CHANGED:
            self.list_digest = item["object_id"]
            return None
        org = item.get("organization_id")
        if item["action"] != SANCTIONS_HIT or not org:
            return None
        detail = item.get("detail") or {}
        score = float(detail.get("score", 100.0))
        if score < self.min_score:
            return None
        subject = f"{item['object_type']}:{item['object_id']}"
        return EventHit(
            self.name,
            str(org),
            f"rule:{self.name}:{subject}:{self.list_digest[:16]}:{detail.get('entry_id', '')}",
            (item["sequence"],),
            score / 100,
            f"{subject} of {org} matches sanctions list entry {detail.get('entry_id', '?')} "
            f"({detail.get('listed_name', '?')}, score {score:.0f}) on re-screening against list "
            f"{self.list_digest[:12] or '?'}",
        )


EventRule = RapidOpenClose | RepeatedFailures | SanctionsRescreen


def default_event_rules() -> list[EventRule]:
    return [RapidOpenClose(), RepeatedFailures(), SanctionsRescreen()]
