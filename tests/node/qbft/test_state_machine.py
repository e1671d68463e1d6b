"""The QBFT state machine without processes: quorum, proposer rotation, the prepare/commit path, justification
of round changes, equivocation, timeouts; the vote tally; seal verification; message encoding."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from eth_keys.datatypes import PrivateKey

from node.consensus import SealError
from node.execution import child_header
from node.headers import QbftHeader, copy_header
from node.qbft.consensus import QbftConsensus, proposer_for
from node.qbft.engine import EngineConfig, block_tx_limit, with_seals
from node.qbft.messages import (
    BadMessage,
    Block,
    Commit,
    Prepare,
    Proposal,
    RoundChange,
    decode_message,
    encode_message,
)
from node.qbft.state import HeightState, Outcome, faulty, make_seal, quorum, round_timeout
from node.qbft.votes import PendingVotes, Tally, VoteTally
from node.qbft_extra import QbftExtraData, Vote

KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(4)]
ADDRS = [bytes(k.public_key.to_canonical_address()) for k in KEYS]
VALIDATORS = tuple(sorted(ADDRS))
BY_ADDR = dict(zip(ADDRS, KEYS, strict=True))
HEIGHT = 5


def key_of(address: bytes) -> PrivateKey:
    return BY_ADDR[address]


def proposer(round_number: int) -> bytes:
    return proposer_for(VALIDATORS, HEIGHT, round_number)


def block(tag: int = 0, round_number: int = 0) -> Block:
    parent = cast(Any, SimpleNamespace(block_number=HEIGHT - 1, gas_limit=30_000_000, hash=bytes([tag]) * 32))
    extra = QbftExtraData(validators=VALIDATORS, round=round_number).encode()
    return Block(child_header(parent, 1_700_000_000 + tag, proposer(round_number), extra), ())


def states() -> dict[bytes, HeightState]:
    return {a: HeightState(HEIGHT, VALIDATORS, key_of(a), proposer) for a in VALIDATORS}


def accept(hs: HeightState, p: Proposal) -> Outcome:
    out = hs.on_proposal(p)
    assert out.validate == p, out.faults
    return hs.proposal_validated(p, True)


def deliver(nodes: dict[bytes, HeightState], msgs: list[Any], skip: set[bytes] = frozenset()) -> list[Any]:  # type: ignore[assignment]
    """Deliver messages to every node (not back to their author); returns what they send in response."""
    out: list[Any] = []
    for msg in msgs:
        for addr, hs in nodes.items():
            if addr == msg.author or addr in skip:
                continue
            if isinstance(msg, Prepare):
                result = hs.on_prepare(msg)
            elif isinstance(msg, Commit):
                result = hs.on_commit(msg)
            elif isinstance(msg, RoundChange):
                result = hs.on_round_change(msg)
            else:
                result = hs.on_proposal(msg)
                if result.validate is not None:
                    result.merge(hs.proposal_validated(msg, True))
            out += result.send
    return out


def test_quorum_and_fault_tolerance() -> None:
    assert [quorum(n) for n in (1, 2, 3, 4, 5, 6, 7, 10)] == [1, 2, 2, 3, 4, 4, 5, 7]
    assert [faulty(n) for n in (1, 4, 5, 7, 10)] == [0, 1, 1, 2, 3]


def test_round_timeouts_double() -> None:
    assert [round_timeout(1.0, r) for r in range(5)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert round_timeout(0.5, 100) == 0.5 * 2**8  # capped


def test_proposer_rotates_with_height_and_round() -> None:
    seen = {proposer_for(VALIDATORS, h, 0) for h in range(4)}
    assert seen == set(VALIDATORS)
    assert proposer_for(VALIDATORS, 5, 1) == proposer_for(VALIDATORS, 6, 0)


def test_happy_path_decides_with_a_quorum_of_seals() -> None:
    nodes = states()
    p = Proposal(HEIGHT, 0, block()).signed(key_of(proposer(0)))
    first = accept(nodes[proposer(0)], p)
    assert [type(m) for m in first.send] == [Prepare]
    prepares = deliver(nodes, [p]) + first.send
    commits = deliver(nodes, prepares)
    assert all(isinstance(c, Commit) for c in commits) and len(commits) == 4
    decisions = []
    for hs in nodes.values():
        for c in commits:
            if c.author != hs.me:
                out = hs.on_commit(c)
                if out.decision:
                    decisions.append(out.decision)
    assert len(decisions) == 4
    assert {d.block.digest for d in decisions} == {p.digest}
    assert all(len(d.seals) >= 3 for d in decisions)


def test_two_of_four_cannot_decide() -> None:
    nodes = states()
    p = Proposal(HEIGHT, 0, block()).signed(key_of(proposer(0)))
    alive = {proposer(0), proposer(1)}
    live = {a: hs for a, hs in nodes.items() if a in alive}
    prepares = accept(live[proposer(0)], p).send + deliver(live, [p])
    commits = deliver(live, prepares)
    assert commits == []  # 2 PREPAREs are not a quorum of 4
    assert all(hs.decided is None for hs in live.values())


def test_proposal_from_wrong_proposer_is_refused() -> None:
    hs = states()[proposer(1)]
    p = Proposal(HEIGHT, 0, block()).signed(key_of(proposer(1)))
    out = hs.on_proposal(p)
    assert out.validate is None and "not its proposer" in out.faults[0]


def test_two_proposals_in_one_round_are_equivocation() -> None:
    hs = states()[proposer(1)]
    k = key_of(proposer(0))
    assert accept(hs, Proposal(HEIGHT, 0, block(1)).signed(k)).send
    out = hs.on_proposal(Proposal(HEIGHT, 0, block(2)).signed(k))
    assert out.validate is None and "equivocation" in out.faults[0]


def test_conflicting_prepares_are_equivocation_and_only_the_first_counts() -> None:
    hs = states()[proposer(1)]
    k = KEYS[0]
    hs.on_prepare(Prepare(HEIGHT, 0, b"\x01" * 32).signed(k))
    out = hs.on_prepare(Prepare(HEIGHT, 0, b"\x02" * 32).signed(k))
    assert "equivocation" in out.faults[0]
    assert hs.prepares[0][ADDRS[0]].digest == b"\x01" * 32


def test_commit_with_someone_elses_seal_is_refused() -> None:
    hs = states()[proposer(1)]
    digest = b"\x07" * 32
    forged = Commit(HEIGHT, 0, digest, make_seal(KEYS[1], digest)).signed(KEYS[0])
    assert "not its own" in hs.on_commit(forged).faults[0]


def test_message_from_non_validator_is_refused() -> None:
    hs = states()[proposer(1)]
    outsider = PrivateKey(b"\x99" * 32)
    assert "non-validator" in hs.on_prepare(Prepare(HEIGHT, 0, b"\x01" * 32).signed(outsider)).faults[0]


def test_timeout_moves_to_next_round_and_sends_round_change() -> None:
    hs = states()[ADDRS[0]]
    out = hs.on_timeout(0)
    assert hs.round == 1 and out.timer == 1
    assert isinstance(out.send[0], RoundChange) and out.send[0].round == 1
    assert hs.on_timeout(0).send == []  # a stale timer does nothing


def test_f_plus_one_round_changes_pull_a_validator_forward() -> None:
    nodes = states()
    me = VALIDATORS[0]
    others = [a for a in VALIDATORS if a != me]
    hs = nodes[me]
    assert hs.on_round_change(RoundChange(HEIGHT, 3).signed(key_of(others[0]))).send == []
    out = hs.on_round_change(RoundChange(HEIGHT, 3).signed(key_of(others[1])))
    assert hs.round == 3 and out.timer == 3


def test_round_change_quorum_makes_the_next_proposer_propose() -> None:
    nodes = states()
    nxt = proposer(1)
    hs = nodes[nxt]
    hs.on_timeout(0)
    out = Outcome()
    for a in VALIDATORS:
        if a != nxt:
            out.merge(hs.on_round_change(RoundChange(HEIGHT, 1).signed(key_of(a))))
    assert out.propose is not None and out.propose.round == 1 and out.propose.block is None
    assert len(out.propose.round_changes) >= 3


def prepared_round_change(author: PrivateKey, b: Block, prepared_round: int, new_round: int) -> RoundChange:
    cert = tuple(Prepare(HEIGHT, prepared_round, b.digest).signed(k) for k in KEYS[:3])
    return RoundChange(HEIGHT, new_round, prepared_round, b.digest, b, cert).signed(author)


def test_unjustified_round_one_proposal_is_refused() -> None:
    hs = states()[proposer(0)]
    p = Proposal(HEIGHT, 1, block(round_number=1)).signed(key_of(proposer(1)))
    out = hs.on_proposal(p)
    assert out.validate is None and "unjustified" in out.faults[0]


def test_round_change_justification_without_prepared_accepts_any_block() -> None:
    hs = states()[proposer(0)]
    rcs = tuple(RoundChange(HEIGHT, 1).signed(k) for k in KEYS[:3])
    p = Proposal(HEIGHT, 1, block(round_number=1), rcs).signed(key_of(proposer(1)))
    assert hs.on_proposal(p).validate == p


def test_a_prepared_block_must_be_reproposed() -> None:
    prepared = block(3)
    rcs = (prepared_round_change(KEYS[0], prepared, 0, 1), *(RoundChange(HEIGHT, 1).signed(k) for k in KEYS[1:3]))
    signer = key_of(proposer(1))
    other = Proposal(HEIGHT, 1, block(4, 1), tuple(rc for rc in rcs)).signed(signer)
    out = states()[proposer(0)].on_proposal(other)
    assert out.validate is None and "highest prepared" in out.faults[0]
    cert = rcs[0].prepares
    good = Proposal(HEIGHT, 1, prepared, rcs, cert).signed(signer)
    assert states()[proposer(0)].on_proposal(good).validate == good
    weak = Proposal(HEIGHT, 1, prepared, rcs, cert[:2]).signed(signer)
    assert "quorum" in states()[proposer(0)].on_proposal(weak).faults[0]


def test_round_change_with_a_bad_certificate_is_refused() -> None:
    b = block(3)
    cert = tuple(Prepare(HEIGHT, 0, b.digest).signed(k) for k in KEYS[:2])  # 2 < quorum
    rc = RoundChange(HEIGHT, 1, 0, b.digest, b, cert).signed(KEYS[3])
    assert "quorum" in states()[VALIDATORS[0]].on_round_change(rc).faults[0]


def test_prepared_validator_carries_its_certificate_into_round_change() -> None:
    nodes = states()
    p = Proposal(HEIGHT, 0, block()).signed(key_of(proposer(0)))
    prepares = accept(nodes[proposer(0)], p).send + deliver(nodes, [p])
    deliver(nodes, prepares)  # everyone prepared, COMMITs lost
    hs = nodes[proposer(1)]
    out = hs.on_timeout(0)
    rc = out.send[0]
    assert isinstance(rc, RoundChange) and rc.prepared_round == 0 and rc.prepared_digest == p.digest
    # the next proposer, with a quorum of such ROUND_CHANGEs, re-proposes that block
    result = Outcome()
    for a in VALIDATORS:
        if a != proposer(1):
            result.merge(hs.on_round_change(nodes[a].on_timeout(0).send[0]))
    assert result.propose is not None and result.propose.block is not None
    assert result.propose.block.digest == p.digest


def test_messages_round_trip_and_recover_their_author() -> None:
    b = block(1)
    msgs = [
        Proposal(HEIGHT, 0, b).signed(KEYS[0]),
        Prepare(HEIGHT, 2, b.digest).signed(KEYS[1]),
        Commit(HEIGHT, 2, b.digest, make_seal(KEYS[2], b.digest)).signed(KEYS[2]),
        prepared_round_change(KEYS[3], b, 0, 1),
        RoundChange(HEIGHT, 4).signed(KEYS[0]),
    ]
    codes = []
    for msg in msgs:
        code, data = encode_message(msg)
        codes.append(code)
        decoded = decode_message(code, data)
        assert decoded.author == msg.author
        assert decoded.to_rlp() == msg.to_rlp()
    assert codes == [0x12, 0x13, 0x14, 0x15, 0x15]
    code, data = encode_message(msgs[1])
    tampered = decode_message(code, data.replace(b.digest, b"\x01" * 32))
    assert tampered.author != msgs[1].author  # the signature then names somebody else (not a validator)
    with pytest.raises(BadMessage):
        decode_message(code, data[:-5])


def test_vote_passes_at_more_than_half_and_resets_at_epoch() -> None:
    newcomer = b"\x55" * 20
    tally = Tally(VALIDATORS)
    tally = tally.apply(VALIDATORS[0], Vote(newcomer, True), 1, 100)
    tally = tally.apply(VALIDATORS[1], Vote(newcomer, True), 2, 100)
    assert newcomer not in tally.validators  # 2 of 4 is not more than half
    tally = tally.apply(VALIDATORS[1], Vote(newcomer, True), 3, 100)  # a repeated vote counts once
    assert newcomer not in tally.validators
    passed = tally.apply(VALIDATORS[2], Vote(newcomer, True), 4, 100)
    assert newcomer in passed.validators and passed.votes == {}
    reset = tally.apply(VALIDATORS[3], None, 100, 100)
    assert reset.votes == {}
    outsider = tally.apply(newcomer, Vote(VALIDATORS[0], False), 5, 100)
    assert outsider.votes == tally.votes  # a non-validator's vote does not count


def test_pending_votes_are_cast_until_in_effect() -> None:
    votes = PendingVotes()
    newcomer = b"\x55" * 20
    votes.propose(newcomer, True)
    assert votes.choose(Tally(VALIDATORS), VALIDATORS[0], 1) == Vote(newcomer, True)
    assert votes.choose(Tally((*VALIDATORS, newcomer)), VALIDATORS[0], 2) is None
    assert votes.votes == {}


def chain_of(headers: list[QbftHeader]) -> VoteTally:
    return VoteTally(lambda n: headers[n] if n < len(headers) else None, 30_000)


def genesis_header() -> QbftHeader:
    parent = cast(Any, SimpleNamespace(block_number=-1, gas_limit=30_000_000, hash=b"\x00" * 32))
    return child_header(parent, 0, b"\x00" * 20, QbftExtraData(validators=VALIDATORS).encode())


def test_seals_of_a_quorum_of_validators_are_required() -> None:
    genesis = genesis_header()
    consensus = QbftConsensus(KEYS[0], chain_of([genesis]))
    header = child_header(genesis, 1, proposer_for(VALIDATORS, 1, 0), QbftExtraData(validators=VALIDATORS).encode())
    digest = bytes(header.hash)
    consensus.verify_seals(with_seals(header, tuple(make_seal(k, digest) for k in KEYS[:3])), genesis)
    with pytest.raises(SealError, match="quorum"):
        consensus.verify_seals(with_seals(header, tuple(make_seal(k, digest) for k in KEYS[:2])), genesis)
    with pytest.raises(SealError, match="repeats"):
        consensus.verify_seals(with_seals(header, tuple(make_seal(KEYS[0], digest) for _ in range(3))), genesis)
    outsider = PrivateKey(b"\x99" * 32)
    with pytest.raises(SealError, match="non-validator"):
        consensus.verify_seals(
            with_seals(header, (*(make_seal(k, digest) for k in KEYS[:3]), make_seal(outsider, digest))), genesis
        )
    foreign = copy_header(header, coinbase=bytes(outsider.public_key.to_canonical_address()))
    fd = bytes(foreign.hash)
    with pytest.raises(SealError, match="non-validator"):
        consensus.verify_seals(with_seals(foreign, tuple(make_seal(k, fd) for k in KEYS[:3])), genesis)


def test_a_restarted_validator_never_votes_twice_in_a_round_and_keeps_its_lock() -> None:
    nodes = states()
    p = Proposal(HEIGHT, 0, block()).signed(key_of(proposer(0)))
    prepares = accept(nodes[proposer(0)], p).send + deliver(nodes, [p])
    deliver(nodes, prepares)
    me = proposer(1)
    before = nodes[me]
    assert before.prepared is not None and before.voted_round() == 0
    # the process restarts: a fresh state for the same height, restored from the saved record
    after = HeightState(HEIGHT, VALIDATORS, key_of(me), proposer)
    out = after.restore(before.voted_round(), before.prepared)
    assert after.round == 1 and out.timer == 1
    rc = out.send[0]
    assert isinstance(rc, RoundChange) and rc.prepared_digest == p.digest
    # a different round-0 proposal (an amnesic proposer) gets no vote from it
    other = Proposal(HEIGHT, 0, block(9)).signed(key_of(proposer(0)))
    assert after.on_proposal(other).validate is None


def test_block_size_follows_the_measured_execution_speed() -> None:
    config = EngineConfig(round_timeout=2.0, max_block_txs=2000, first_block_txs=500, execution_share=0.25)
    assert block_tx_limit(config, 0.0) == 500  # nothing measured yet
    assert block_tx_limit(config, 0.001) == 500  # 0.5 s of the 2 s round at 1 ms a transaction
    assert block_tx_limit(config, 0.004) == 125
    assert block_tx_limit(config, 0.0001) == 2000  # never above the cap
    assert block_tx_limit(config, 1.0) == 50  # never below the floor
    assert block_tx_limit(EngineConfig(round_timeout=0.5), 0.001) == 125
    # the size ramps up from the last block executed: x4 at a time, never below the floor
    assert block_tx_limit(config, 0.0001, last_block_txs=20) == 80
    assert block_tx_limit(config, 0.0001, last_block_txs=3) == 50
    assert block_tx_limit(config, 0.0001, last_block_txs=400) == 1600
    assert block_tx_limit(config, 0.004, last_block_txs=400) == 125
    assert block_tx_limit(config, 0.0, last_block_txs=0) == 50
