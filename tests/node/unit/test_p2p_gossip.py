"""Which consensus messages a node forwards (node.qbft.gossip), without sockets."""

from __future__ import annotations

from eth_keys.datatypes import PrivateKey

from node.qbft.gossip import FUTURE_HEIGHTS, ROUNDS_AHEAD, GossipWindow, gossip_problem, in_window
from node.qbft.messages import Commit, Message, Prepare, decode_message, encode_message
from node.qbft.state import make_seal

KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(4)]
VALIDATORS = tuple(bytes(k.public_key.to_canonical_address()) for k in KEYS)
OUTSIDER = PrivateKey(b"\x42" * 32)
DIGEST = b"\x11" * 32
VIEW = GossipWindow(height=10, round=2, validators=VALIDATORS, proposer_of=lambda r: VALIDATORS[r % 4])


def received(msg: Message) -> Message:
    """As a peer's bytes arrive: decoded, the author recovered from the signature."""
    return decode_message(*encode_message(msg))


def test_a_validators_vote_within_the_window_is_forwarded() -> None:
    msg = received(Prepare(10, 2, DIGEST).signed(KEYS[0]))
    assert gossip_problem(msg, VIEW) is None and in_window(msg, VIEW)
    future = received(Commit(10 + FUTURE_HEIGHTS, 0, DIGEST, make_seal(KEYS[1], DIGEST)).signed(KEYS[1]))
    assert gossip_problem(future, VIEW) is None and in_window(future, VIEW)


def test_outsiders_far_rounds_and_heights_outside_the_window_are_not() -> None:
    assert "non-validator" in (gossip_problem(received(Prepare(10, 2, DIGEST).signed(OUTSIDER)), VIEW) or "")
    far_round = received(Prepare(10, 2 + ROUNDS_AHEAD + 1, DIGEST).signed(KEYS[0]))
    assert "round" in (gossip_problem(far_round, VIEW) or "")
    assert not in_window(received(Prepare(10 + FUTURE_HEIGHTS + 1, 0, DIGEST).signed(KEYS[0])), VIEW)
    assert not in_window(received(Prepare(8, 0, DIGEST).signed(KEYS[0])), VIEW)
