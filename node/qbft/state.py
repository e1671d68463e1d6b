"""The QBFT round state machine for one height, without I/O: messages in, decisions and messages out.

It follows the EEA QBFT specification as Besu implements it:

- quorum is ``ceil(2N/3)``; ``f = (N - 1) // 3`` faults are tolerated;
- the proposer of round ``r`` (round-robin over the validators) sends PROPOSAL; a validator that accepts it
  (valid block, right proposer, justified) sends PREPARE; on a quorum of PREPAREs for that block it is
  *prepared* (it keeps the block and the PREPAREs as its prepared certificate) and sends COMMIT with its
  committed seal; a quorum of COMMITs for a block decides it (final, never reverted);
- a round times out after ``base * 2**r`` seconds: the validator moves to ``r + 1`` and sends ROUND_CHANGE
  carrying its prepared certificate, if any; ``f + 1`` ROUND_CHANGEs for later rounds pull a validator forward;
- the proposer of round ``r > 0`` waits for a quorum of ROUND_CHANGEs for ``r`` and must re-propose the block
  of the highest prepared certificate among them (or any block when none is prepared); a PROPOSAL for ``r > 0``
  carries those ROUND_CHANGEs and PREPAREs, and is refused unless they justify it.

A second, different message from the same author for the same height and round (two proposals, conflicting
PREPAREs or COMMITs, two ROUND_CHANGEs) is equivocation: the first one counts, the fault is reported.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from eth_keys.datatypes import PrivateKey, Signature

from node.qbft.messages import Block, Commit, Message, Prepare, Proposal, RoundChange

logger = logging.getLogger(__name__)

MAX_TIMEOUT_DOUBLINGS = 8


def quorum(n: int) -> int:
    return math.ceil(2 * n / 3)


def faulty(n: int) -> int:
    return (n - 1) // 3


def round_timeout(base: float, round_number: int) -> float:
    """Round ``r`` lasts ``base * 2**r`` seconds (capped at 2**8 doublings)."""
    return float(base * 2 ** min(round_number, MAX_TIMEOUT_DOUBLINGS))


def seal_author(digest: bytes, seal: bytes) -> bytes | None:
    if len(seal) != 65 or seal[64] > 1:
        return None
    try:
        sig = Signature(vrs=(seal[64], int.from_bytes(seal[:32], "big"), int.from_bytes(seal[32:64], "big")))
        return bytes(sig.recover_public_key_from_msg_hash(digest).to_canonical_address())
    except Exception:  # a malformed seal recovers to nothing
        return None


def make_seal(key: PrivateKey, digest: bytes) -> bytes:
    sig = key.sign_msg_hash(digest)
    r: int = sig.r
    s: int = sig.s
    v: int = sig.v
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


@dataclass(frozen=True)
class ProposeRequest:
    """This node must propose in ``round``: ``block`` to re-propose (prepared), or None to build a new one."""

    round: int
    block: Block | None
    round_changes: tuple[RoundChange, ...]
    prepares: tuple[Prepare, ...]


@dataclass(frozen=True)
class Decision:
    round: int
    block: Block
    seals: tuple[bytes, ...]


@dataclass
class Outcome:
    send: list[Message] = field(default_factory=list)
    validate: Proposal | None = None
    propose: ProposeRequest | None = None
    decision: Decision | None = None
    timer: int | None = None  # (re)start the timer of this round
    faults: list[str] = field(default_factory=list)

    def merge(self, other: Outcome) -> Outcome:
        self.send += other.send
        self.validate = other.validate or self.validate
        self.propose = other.propose or self.propose
        self.decision = other.decision or self.decision
        self.timer = other.timer if other.timer is not None else self.timer
        self.faults += other.faults
        return self


@dataclass(frozen=True)
class Prepared:
    round: int
    block: Block
    prepares: tuple[Prepare, ...]


class HeightState:
    """All rounds of one height. ``proposer_of(round)`` gives the round's proposer."""

    def __init__(
        self,
        height: int,
        validators: tuple[bytes, ...],
        key: PrivateKey | None,
        proposer_of: Callable[[int], bytes],
    ) -> None:
        self.height = height
        self.validators = frozenset(validators)
        self.n = len(validators)
        self.quorum = quorum(self.n)
        self.f = faulty(self.n)
        self.key = key
        self.me = bytes(key.public_key.to_canonical_address()) if key is not None else None
        self.proposer_of = proposer_of
        self.round = 0
        self.proposals: dict[int, Proposal] = {}  # first proposal seen per round (validating or accepted)
        self.accepted: dict[int, Proposal] = {}
        self.prepares: dict[int, dict[bytes, Prepare]] = {}
        self.commits: dict[int, dict[bytes, Commit]] = {}
        self.round_changes: dict[int, dict[bytes, RoundChange]] = {}
        self.prepared: Prepared | None = None
        self.blocks: dict[bytes, Block] = {}
        self.sent_prepare: set[int] = set()
        self.sent_commit: set[int] = set()
        self.proposed: set[int] = set()
        self.decided: Decision | None = None

    @property
    def is_validator(self) -> bool:
        return self.me is not None and self.me in self.validators

    def _foreign(self, msg: Message, what: str) -> str | None:
        if msg.height != self.height:
            return f"{what} for height {msg.height}, at {self.height}"
        if msg.author not in self.validators:
            return f"{what} from non-validator 0x{msg.author.hex()}"
        return None

    # PROPOSAL ---------------------------------------------------------------------------------------
    def on_proposal(self, p: Proposal) -> Outcome:
        out = Outcome()
        problem = self._foreign(p, "PROPOSAL")
        if problem is None and p.author != self.proposer_of(p.round):
            problem = f"PROPOSAL for round {p.round} from 0x{p.author.hex()}, not its proposer"
        if problem is None and p.block.header.block_number != self.height:
            problem = "PROPOSAL block number differs from its height"
        if problem is not None:
            out.faults.append(problem)
            return out
        if self.decided is not None or p.round < self.round:
            return out
        first = self.proposals.get(p.round)
        if first is not None:
            if first.digest != p.digest:
                out.faults.append(
                    f"equivocation: 0x{p.author.hex()} sent two PROPOSALs for height {self.height} round {p.round}"
                )
            return out
        if p.round > 0:
            reason = self.justification_problem(p)
            if reason is not None:
                out.faults.append(f"unjustified PROPOSAL for round {p.round}: {reason}")
                return out
        self.proposals[p.round] = p
        out.validate = p
        return out

    def justification_problem(self, p: Proposal) -> str | None:
        """Why the ROUND_CHANGEs and PREPAREs in ``p`` do not justify it (None when they do)."""
        authors: set[bytes] = set()
        highest: RoundChange | None = None
        for rc in p.round_changes:
            if rc.height != self.height or rc.round != p.round:
                return "a ROUND_CHANGE is for another height or round"
            if rc.author not in self.validators or rc.author in authors:
                return "ROUND_CHANGE authors must be distinct validators"
            authors.add(rc.author)
            if rc.prepared_round is not None and (highest is None or rc.prepared_round > (highest.prepared_round or 0)):
                highest = rc
        if len(authors) < self.quorum:
            return f"{len(authors)} ROUND_CHANGEs, quorum is {self.quorum}"
        if highest is None:
            return None
        if p.digest != highest.prepared_digest:
            return "the block is not the highest prepared block"
        if highest.prepared_round is None or highest.prepared_round >= p.round:
            return "prepared round must precede the proposal round"
        return self.certificate_problem(highest.prepared_round, p.digest, p.prepares)

    def certificate_problem(self, round_number: int, digest: bytes, prepares: tuple[Prepare, ...]) -> str | None:
        authors = set()
        for prep in prepares:
            if prep.height != self.height or prep.round != round_number or prep.digest != digest:
                return "a PREPARE of the certificate is for another height, round or block"
            if prep.author not in self.validators:
                return "a PREPARE of the certificate is from a non-validator"
            authors.add(prep.author)
        if len(authors) < self.quorum:
            return f"the prepared certificate has {len(authors)} PREPAREs, quorum is {self.quorum}"
        return None

    def proposal_validated(self, p: Proposal, valid: bool) -> Outcome:
        """The engine executed the proposed block: accept it (PREPARE) or refuse it."""
        out = Outcome()
        if not valid:
            out.faults.append(f"invalid block proposed by 0x{p.author.hex()} for height {self.height}")
            return out
        self.blocks[p.digest] = p.block
        if self.decided is not None or p.round < self.round:
            return out.merge(self._check(p.round))
        if p.round > self.round:
            self.round = p.round
            out.timer = p.round
        self.accepted[p.round] = p
        if self.is_validator and p.round not in self.sent_prepare and self.key is not None:
            self.sent_prepare.add(p.round)
            prep = Prepare(self.height, p.round, p.digest).signed(self.key)
            self.prepares.setdefault(p.round, {})[prep.author] = prep
            out.send.append(prep)
        return out.merge(self._check(p.round))

    # PREPARE / COMMIT -------------------------------------------------------------------------------
    def on_prepare(self, m: Prepare) -> Outcome:
        out = Outcome()
        problem = self._foreign(m, "PREPARE")
        if problem is not None:
            out.faults.append(problem)
            return out
        known = self.prepares.setdefault(m.round, {})
        first = known.get(m.author)
        if first is not None:
            if first.digest != m.digest:
                out.faults.append(
                    f"equivocation: 0x{m.author.hex()} sent conflicting PREPAREs"
                    f" for height {self.height} round {m.round}"
                )
            return out
        known[m.author] = m
        return out.merge(self._check(m.round))

    def on_commit(self, m: Commit) -> Outcome:
        out = Outcome()
        problem = self._foreign(m, "COMMIT")
        if problem is None and seal_author(m.digest, m.seal) != m.author:
            problem = f"COMMIT from 0x{m.author.hex()} carries a seal that is not its own"
        if problem is not None:
            out.faults.append(problem)
            return out
        known = self.commits.setdefault(m.round, {})
        first = known.get(m.author)
        if first is not None:
            if first.digest != m.digest:
                out.faults.append(
                    f"equivocation: 0x{m.author.hex()} sent conflicting COMMITs"
                    f" for height {self.height} round {m.round}"
                )
            return out
        known[m.author] = m
        return out.merge(self._check(m.round))

    def _check(self, r: int) -> Outcome:
        out = Outcome()
        if self.decided is not None:
            return out
        p = self.accepted.get(r)
        if p is not None:
            prepares = tuple(x for x in self.prepares.get(r, {}).values() if x.digest == p.digest)
            if len(prepares) >= self.quorum:
                if self.prepared is None or self.prepared.round < r:
                    self.prepared = Prepared(r, p.block, prepares)
                if r == self.round and self.is_validator and r not in self.sent_commit and self.key is not None:
                    self.sent_commit.add(r)
                    commit = Commit(self.height, r, p.digest, make_seal(self.key, p.digest)).signed(self.key)
                    self.commits.setdefault(r, {})[commit.author] = commit
                    out.send.append(commit)
        by_digest: dict[bytes, list[Commit]] = {}
        for c in self.commits.get(r, {}).values():
            by_digest.setdefault(c.digest, []).append(c)
        for digest, commits in by_digest.items():
            block = self.blocks.get(digest)
            if len(commits) >= self.quorum and block is not None:
                seals = tuple(c.seal for c in sorted(commits, key=lambda c: c.author))
                self.decided = Decision(r, block, seals)
                out.decision = self.decided
                break
        return out

    # ROUND_CHANGE -----------------------------------------------------------------------------------
    def _round_change(self, r: int) -> RoundChange:
        assert self.key is not None
        if self.prepared is None:
            return RoundChange(self.height, r).signed(self.key)
        pr = self.prepared
        return RoundChange(self.height, r, pr.round, pr.block.digest, pr.block, pr.prepares).signed(self.key)

    def _enter_round(self, r: int) -> Outcome:
        out = Outcome()
        self.round = r
        out.timer = r
        if self.is_validator and self.key is not None:
            rc = self._round_change(r)
            self.round_changes.setdefault(r, {})[rc.author] = rc
            out.send.append(rc)
        return out.merge(self._check_round_changes(r))

    def on_timeout(self, r: int) -> Outcome:
        if r != self.round or self.decided is not None:
            return Outcome()
        logger.info("height %d: round %d timed out, moving to round %d", self.height, r, r + 1)
        return self._enter_round(r + 1)

    def on_round_change(self, m: RoundChange) -> Outcome:
        out = Outcome()
        problem = self._foreign(m, "ROUND_CHANGE")
        if problem is None and m.round <= 0:
            problem = "ROUND_CHANGE to round 0"
        if problem is None and m.prepared_round is not None:
            if m.prepared_block is None or m.prepared_block.digest != m.prepared_digest:
                problem = "ROUND_CHANGE prepared block does not match its digest"
            elif m.prepared_round >= m.round:
                problem = "ROUND_CHANGE prepared round is not before its round"
            else:
                problem = self.certificate_problem(m.prepared_round, m.prepared_block.digest, m.prepares)
        if problem is not None:
            out.faults.append(problem)
            return out
        known = self.round_changes.setdefault(m.round, {})
        first = known.get(m.author)
        if first is not None:
            if first.payload() != m.payload():
                out.faults.append(
                    f"equivocation: 0x{m.author.hex()} sent two ROUND_CHANGEs for height {self.height} round {m.round}"
                )
            return out
        known[m.author] = m
        if m.prepared_block is not None:
            self.blocks.setdefault(m.prepared_block.digest, m.prepared_block)
        if self.decided is not None:
            return out
        # f + 1 validators are in later rounds: at least one honest one timed out, follow them
        latest: dict[bytes, int] = {}
        for r, by in self.round_changes.items():
            if r > self.round:
                for author in by:
                    latest[author] = max(latest.get(author, 0), r)
        if len(latest) >= self.f + 1:
            target = sorted(latest.values(), reverse=True)[self.f]
            if target > self.round:
                return out.merge(self._enter_round(target))
        return out.merge(self._check_round_changes(m.round))

    def _check_round_changes(self, r: int) -> Outcome:
        out = Outcome()
        if r != self.round or r in self.proposed or self.decided is not None or r == 0:
            return out
        if self.me is None or self.proposer_of(r) != self.me:
            return out
        rcs = tuple(self.round_changes.get(r, {}).values())
        if len(rcs) < self.quorum:
            return out
        self.proposed.add(r)
        chosen = rcs[: max(self.quorum, len(rcs))]
        highest: RoundChange | None = None
        for rc in chosen:
            if rc.prepared_round is not None and (highest is None or rc.prepared_round > (highest.prepared_round or 0)):
                highest = rc
        if highest is None:
            out.propose = ProposeRequest(r, None, chosen, ())
        else:
            out.propose = ProposeRequest(r, highest.prepared_block, chosen, highest.prepares)
        return out

    # crash recovery -------------------------------------------------------------------------------
    def voted_round(self) -> int:
        """The highest round in which this validator has sent anything."""
        rounds = [*self.sent_prepare, *self.sent_commit, *self.proposed, self.round]
        return max(rounds)

    def restore(self, voted_round: int, prepared: Prepared | None) -> Outcome:
        """Resume after a restart at the same height: never vote again in a round already voted in (start in the
        next one, announcing it with ROUND_CHANGE) and keep the prepared certificate (the lock)."""
        if (
            prepared is not None
            and self.certificate_problem(prepared.round, prepared.block.digest, prepared.prepares) is None
        ):
            self.prepared = prepared
            self.blocks[prepared.block.digest] = prepared.block
        return self._enter_round(voted_round + 1)

    def propose_round0(self) -> ProposeRequest | None:
        """Round 0 needs no justification: the proposer proposes when it has something to propose."""
        if self.round != 0 or 0 in self.proposed or self.me is None or self.proposer_of(0) != self.me:
            return None
        self.proposed.add(0)
        return ProposeRequest(0, None, (), ())
