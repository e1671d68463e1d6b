"""Validator-set changes by vote, as Besu's QBFT (block-header validator selection) does them.

The proposer of a block may put one vote in its extra-data: ``[address, 0xff]`` to add, ``[address, 0x00]`` to
drop. A vote counts only while it would change the set (adding a non-validator, dropping a validator); a
validator's later vote on the same address replaces its earlier one. When more than half of the current
validators agree, the change takes effect from the next block and the votes on that address are cleared.
Every ``epoch_length`` blocks all votes are cleared. The validators of block ``n`` (its extra-data) are the
set after block ``n - 1``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from node import qbft_extra
from node.headers import QbftHeader
from node.qbft_extra import Vote

DEFAULT_EPOCH_LENGTH = 30_000


@dataclass(frozen=True)
class Tally:
    """The validator set and open votes after some block."""

    validators: tuple[bytes, ...]
    # target -> voter -> add?
    votes: dict[bytes, dict[bytes, bool]] = field(default_factory=dict)

    def apply(self, voter: bytes, vote: Vote | None, number: int, epoch_length: int) -> Tally:
        """The tally after a block ``number`` proposed by ``voter`` carrying ``vote``."""
        validators = list(self.validators)
        votes = {target: dict(by) for target, by in self.votes.items()}
        if vote is not None and voter in validators:
            effective = vote.add != (vote.recipient in validators)
            if effective:
                votes.setdefault(vote.recipient, {})[voter] = vote.add
                agreeing = sum(1 for v, add in votes[vote.recipient].items() if add == vote.add and v in validators)
                if agreeing * 2 > len(validators):
                    if vote.add:
                        validators.append(vote.recipient)
                    else:
                        validators.remove(vote.recipient)
                        for by in votes.values():  # a dropped validator's open votes no longer count
                            by.pop(vote.recipient, None)
                    votes.pop(vote.recipient, None)
        if epoch_length > 0 and number % epoch_length == 0:
            votes = {}
        return Tally(tuple(sorted(validators)), {t: by for t, by in votes.items() if by})


class VoteTally:
    """Tallies per block, computed forward from the last epoch boundary and cached (finality: no reorgs)."""

    def __init__(self, header_by_number: Callable[[int], QbftHeader | None], epoch_length: int) -> None:
        self._header = header_by_number
        self.epoch_length = epoch_length
        self._cache: OrderedDict[int, Tally] = OrderedDict()
        self._lock = threading.Lock()

    def _at(self, number: int, header: QbftHeader | None = None) -> Tally:
        cached = self._cache.get(number)
        if cached is not None:
            return cached
        start = number - (number % self.epoch_length) if self.epoch_length > 0 else 0
        chain: list[QbftHeader] = []
        n = number
        while n > start and n not in self._cache:
            h = header if (header is not None and n == number) else self._header(n)
            if h is None:
                raise KeyError(n)
            chain.append(h)
            n -= 1
        if n in self._cache:
            tally = self._cache[n]
        else:
            base = self._header(n) if not (header is not None and n == number) else header
            if base is None:
                raise KeyError(n)
            extra = qbft_extra.decode(base.extra_data)
            tally = Tally(tuple(sorted(extra.validators)))
            if n > 0:
                tally = tally.apply(bytes(base.coinbase), extra.vote, n, self.epoch_length)
            self._remember(n, tally)
        for h in reversed(chain):
            extra = qbft_extra.decode(h.extra_data)
            tally = tally.apply(bytes(h.coinbase), extra.vote, h.block_number, self.epoch_length)
            self._remember(h.block_number, tally)
        return tally

    def _remember(self, number: int, tally: Tally) -> None:
        self._cache[number] = tally
        while len(self._cache) > 4096:
            self._cache.popitem(last=False)

    def after(self, header: QbftHeader) -> Tally:
        with self._lock:
            return self._at(header.block_number, header)


class PendingVotes:
    """This validator's own proposals (``qbft_proposeValidatorVote``), cast when it proposes a block."""

    def __init__(self) -> None:
        self.votes: dict[bytes, bool] = {}

    def propose(self, address: bytes, add: bool) -> None:
        self.votes[address] = add

    def discard(self, address: bytes) -> None:
        self.votes.pop(address, None)

    def choose(self, tally: Tally, me: bytes, height: int) -> Vote | None:
        """A vote that would still change the set, rotating over the open ones; settled ones are forgotten."""
        live = []
        for address, add in list(self.votes.items()):
            if add == (address in tally.validators):
                del self.votes[address]  # already in effect
                continue
            if tally.votes.get(address, {}).get(me) == add:
                continue  # already counted; keep it for later if the tally resets
            live.append(Vote(address, add))
        if not live:
            return None
        return live[height % len(live)]
