"""Addresses go out checksummed; hashes and other hex pass unchanged."""

from __future__ import annotations

from pydantic import BaseModel

from gateway.addresses import Address, checksummed

LOWER = "0x2279b7a0a67db372996a5fab50d91eaa73d2ebe6"
CHECKSUMMED = "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6"
TX_HASH = "0x" + "ab" * 32


def test_checksummed_walks_bodies_and_leaves_other_hex() -> None:
    body = {"data": [{"wallet": LOWER, "tx_hash": TX_HASH, "n": 1, "tokens": (LOWER,)}], "next_cursor": None}
    assert checksummed(body) == {
        "data": [{"wallet": CHECKSUMMED, "tx_hash": TX_HASH, "n": 1, "tokens": [CHECKSUMMED]}],
        "next_cursor": None,
    }


def test_address_type_serializes_checksummed() -> None:
    class Holder(BaseModel):
        address: Address

    assert Holder(address=LOWER).model_dump(mode="json") == {"address": CHECKSUMMED}
