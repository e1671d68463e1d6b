"""What a consensus message must pass before this node forwards it to its other peers.

Gossip makes every validator see every message (so an equivocator's two versions meet somewhere), but a node that
forwarded before checking would relay whatever a peer sends, at no cost to that peer, to every other node. So a
message is forwarded only when it decoded with every signature recovering (done by
:func:`node.qbft.messages.decode_message`), its author is a validator, its height lies within a window around
this node's height, its round within a bound of the current round, and a PROPOSAL of the current height comes from
that round's proposer. The round state machine checks everything else before the message counts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from node.qbft.messages import Message, Proposal

PAST_HEIGHTS = 1  # late votes of the previous height still help a validator that is finishing it
FUTURE_HEIGHTS = 16
ROUNDS_AHEAD = 16  # round timeouts double: a round this far ahead of ours is not one a correct validator is in


@dataclass(frozen=True)
class GossipWindow:
    """This node's view when a message arrives: its height and round, the validators, the proposer of a round."""

    height: int
    round: int
    validators: Collection[bytes]
    proposer_of: Callable[[int], bytes]


def gossip_problem(msg: Message, view: GossipWindow) -> str | None:
    """Why ``msg`` is not to be forwarded, as a fault of its sender (None: it may be, if :func:`in_window`)."""
    name = type(msg).__name__.upper()
    if msg.author not in view.validators:
        return f"{name} from non-validator 0x{msg.author.hex()}"
    if msg.round > view.round + ROUNDS_AHEAD:
        return f"{name} for round {msg.round}, more than {ROUNDS_AHEAD} ahead of round {view.round}"
    if isinstance(msg, Proposal) and msg.height == view.height and msg.author != view.proposer_of(msg.round):
        return f"PROPOSAL for round {msg.round} from 0x{msg.author.hex()}, not its proposer"
    return None


def in_window(msg: Message, view: GossipWindow) -> bool:
    """Whether the height is one this node forwards: older ones are stale, later ones are for a sync to fetch."""
    return view.height - PAST_HEIGHTS <= msg.height <= view.height + FUTURE_HEIGHTS
