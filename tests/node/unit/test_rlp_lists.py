"""The direct RLP of flat byte-string lists (block transactions, gossip batches, receipts) is pyrlp's, byte for
byte, and refuses what pyrlp refuses; receipts encode as py-evm encodes them."""

from __future__ import annotations

import random

import pytest
import rlp
from eth.rlp.logs import Log
from eth.rlp.receipts import Receipt
from eth.vm.forks.prague.receipts import PragueReceiptBuilder
from rlp.exceptions import DecodingError

from node.receipts import encode_receipt
from node.rlp_lists import decode_bytes_list, encode_bytes_list

SIZES = (0, 1, 2, 55, 56, 57, 300, 70_000)


def test_lists_match_pyrlp() -> None:
    rng = random.Random(7)
    for _ in range(500):
        items = [rng.randbytes(rng.choice(SIZES)) for _ in range(rng.randint(0, 6))]
        items += [bytes([rng.randrange(0x80)])] * rng.randint(0, 2)  # single bytes are their own encoding
        encoded = encode_bytes_list(items)
        assert encoded == rlp.encode(items)
        assert decode_bytes_list(encoded) == items


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80",  # a string, not a list
        rlp.encode([[b"nested"]]),  # a list inside
        rlp.encode([b"abc"]) + b"\x00",  # trailing bytes
        rlp.encode([b"abc"])[:-1],  # truncated
        b"\xc2\x81\x05",  # a single byte below 0x80 with a length prefix (non-canonical)
        b"\xc1\xc0",  # an empty list as an item
    ],
)
def test_malformed_lists_are_refused(data: bytes) -> None:
    with pytest.raises(DecodingError):
        decode_bytes_list(data)


def test_mutated_lists_decode_as_pyrlp_decodes() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        data = bytearray(encode_bytes_list([rng.randbytes(rng.choice(SIZES[:6])) for _ in range(rng.randint(0, 4))]))
        data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            expected = rlp.decode(bytes(data))
            flat = isinstance(expected, list) and all(isinstance(x, bytes) for x in expected)
        except DecodingError:
            flat = False
        if flat:
            assert decode_bytes_list(bytes(data)) == expected
        else:
            with pytest.raises(DecodingError):
                decode_bytes_list(bytes(data))


def test_receipts_encode_as_py_evm() -> None:
    rng = random.Random(5)
    for _ in range(300):
        logs = [
            Log(
                rng.randbytes(20),
                tuple(rng.getrandbits(256) >> rng.choice((0, 8, 255)) for _ in range(rng.randint(0, 4))),
                rng.randbytes(rng.choice((0, 1, 32, 56, 300))),
            )
            for _ in range(rng.randint(0, 3))
        ]
        legacy = Receipt(rng.choice((b"", b"\x01", rng.randbytes(32))), rng.getrandbits(rng.choice((0, 7, 64))), logs)
        for receipt in [legacy] + [PragueReceiptBuilder.decode(bytes([t]) + legacy.encode()) for t in (1, 2, 4)]:
            assert encode_receipt(receipt) == receipt.encode()
