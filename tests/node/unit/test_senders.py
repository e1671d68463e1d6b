"""The per-node transaction cache: each raw transaction is decoded and its sender recovered once, keyed by its
exact bytes; a bad signature is never remembered; a proposal's signature covers the block bytes it carries."""

from __future__ import annotations

import random

import pytest
import rlp
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_account import Account
from eth_utils.address import to_checksum_address

from node.exceptions import TxRejected
from node.qbft.messages import Block, Proposal, decode_message, encode_message
from node.senders import (
    SECP256K1_N,
    _decode_dynamic_fee,
    decode_raw,
    decode_transaction,
    recover_sender,
    sender_from_raw,
)
from node.storage import decode_txs, encode_txs
from tests.node.qbft.test_state_machine import HEIGHT, block, key_of, proposer

KEY = "0x" + "11" * 32


def raw_transfer(nonce: int, key: str = KEY) -> bytes:
    tx = Account.sign_transaction(
        {
            "to": "0x" + "42" * 20,
            "value": 0,
            "gas": 21_000,
            "maxFeePerGas": 0,
            "maxPriorityFeePerGas": 0,
            "nonce": nonce,
            "chainId": 1337,
            "type": 2,
        },
        key,
    )
    return bytes(tx.raw_transaction)


def test_same_bytes_give_the_same_object_and_sender() -> None:
    raw = raw_transfer(1)
    first = decode_transaction(raw)
    assert decode_transaction(bytes(raw)) is first
    assert recover_sender(first) == bytes.fromhex(Account.from_key(KEY).address[2:])
    assert decode_txs(encode_txs([first]))[0] is first


def test_other_bytes_give_another_transaction() -> None:
    one, other = decode_transaction(raw_transfer(2)), decode_transaction(raw_transfer(2, "0x" + "22" * 32))
    assert one is not other
    assert recover_sender(one) != recover_sender(other)


def test_a_malleable_signature_is_refused_every_time() -> None:
    items = rlp.decode(raw_transfer(3)[1:])
    s = int.from_bytes(items[-1], "big")
    items[-2:] = [items[-2], (SECP256K1_N - s).to_bytes(32, "big")]  # high s: valid curve point, not EIP-2
    items[-3] = b"" if items[-3] == b"\x01" else b"\x01"
    raw = b"\x02" + rlp.encode(items)
    tx = decode_transaction(raw)
    assert decode_transaction(raw) is not tx  # not remembered
    for candidate in (tx, decode_transaction(raw)):
        with pytest.raises(TxRejected, match="invalid sender"):
            recover_sender(candidate)


def test_a_proposal_signs_the_block_bytes_it_carries() -> None:
    author = proposer(0)
    txs = tuple(decode_transaction(raw_transfer(n)) for n in range(10, 13))
    base = block()
    proposal = Proposal(HEIGHT, 0, Block(base.header, txs)).signed(key_of(author))
    code, payload = encode_message(proposal)
    decoded = decode_message(code, payload)
    assert isinstance(decoded, Proposal)
    assert decoded.author == author
    assert decoded.block.encode() == proposal.block.encode()
    assert decoded.block.transactions == txs
    assert all(a is b for a, b in zip(decoded.block.transactions, txs, strict=True))
    # another block under the same signature recovers to someone else: the state machine refuses it
    other = Proposal(HEIGHT, 0, Block(base.header, txs[:2]), (), (), author, proposal.signature)
    forged = decode_message(*encode_message(other))
    assert forged.author != author


def test_a_signed_block_is_encoded_once() -> None:
    b = Block(block(1).header, (decode_transaction(raw_transfer(20)),))
    assert b.encode() is b.encode()
    assert Block.decode(b.encode()) == b


def test_the_sender_of_every_transaction_type_is_its_signer() -> None:
    base = {"to": "0x" + "42" * 20, "value": 5, "gas": 30_000, "nonce": 7, "data": "0x1234"}
    shapes = [
        {**base, "gasPrice": 1},  # pre-EIP-155 legacy
        {**base, "gasPrice": 1, "chainId": 1337},
        {**base, "gasPrice": 1, "chainId": 1337, "accessList": [{"address": "0x" + "42" * 20, "storageKeys": []}]},
        {**base, "maxFeePerGas": 2, "maxPriorityFeePerGas": 1, "chainId": 1337, "type": 2},
    ]
    for key in ("0x" + "33" * 32, "0x" + "44" * 32):
        for shape in shapes:
            raw = bytes(Account.sign_transaction(shape, key).raw_transaction)
            expected = bytes.fromhex(Account.recover_transaction(raw)[2:])
            assert sender_from_raw(raw) == expected
            tx = PragueTransactionBuilder.decode(raw)
            assert recover_sender(tx) == expected
            assert bytes(decode_transaction(raw).sender) == expected


def test_garbage_never_recovers() -> None:
    for raw in (b"", b"\x02", b"\x02\xc0", b"\xc0", b"\xc3\x01\x02\x03"):
        with pytest.raises(TxRejected):
            sender_from_raw(raw)


def _py_evm(raw: bytes) -> object:
    try:
        return PragueTransactionBuilder.decode(raw)
    except Exception as exc:  # any refusal
        return type(exc)


def test_direct_type2_decoding_gives_py_evm_objects_and_refusals() -> None:
    rng = random.Random(7)
    account = Account.from_key(KEY)
    raws = []
    for i in range(60):
        fields: dict[str, object] = {
            "chainId": rng.choice([1, 1337, 2**64]),
            "nonce": rng.choice([0, 1, 127, 128, 2**64 - 1]),
            "gas": rng.choice([21_000, 10**7]),
            "maxFeePerGas": rng.choice([0, 1, 10**30]),
            "maxPriorityFeePerGas": 0,
            "value": rng.choice([0, 1, 2**255]),
            "data": rng.randbytes(rng.choice([0, 1, 55, 56, 300])),
            "type": 2,
        }
        if i % 5:
            fields["to"] = to_checksum_address(rng.randbytes(20))
        if i % 7 == 0:
            fields["accessList"] = [{"address": "0x" + "11" * 20, "storageKeys": ["0x" + "22" * 32]}]
        raws.append(bytes(account.sign_transaction(fields).raw_transaction))
    raws.append(raw_transfer(0))
    for raw in list(raws):  # damaged copies: flipped, cut, extended
        for _ in range(30):
            pos = rng.randrange(len(raw))
            raws.append(raw[:pos] + bytes([rng.randrange(256)]) + raw[pos + 1 :])
        raws += [raw[: rng.randrange(len(raw))], raw + b"\x00"]
    direct = 0
    for raw in raws:
        fast = _decode_dynamic_fee(raw)
        expected = _py_evm(raw)
        if fast is None:
            continue
        direct += 1
        assert not isinstance(expected, type), raw.hex()  # never accepts what py-evm refuses
        assert fast == expected and type(fast) is type(expected)
        assert fast.encode() == raw and fast.hash == expected.hash  # type: ignore[attr-defined]
        assert decode_raw(raw) == expected
    assert direct > 40


def test_decoded_transaction_keeps_its_bytes() -> None:
    raw = raw_transfer(11)
    tx = decode_transaction(raw)
    fresh = PragueTransactionBuilder.decode(raw)
    assert tx.encode() == fresh.encode() == raw
    assert tx.hash == fresh.hash
