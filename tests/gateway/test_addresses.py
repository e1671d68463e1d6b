"""Addresses go out checksummed; hashes and other hex pass unchanged."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from gateway.addresses import Address, checksummed, checksummed_json
from gateway.api.responses import ChecksummedJSONResponse

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


_leaf = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from([LOWER, CHECKSUMMED, TX_HASH, '"' + LOWER + '"', "\\" + LOWER, LOWER + ":", "0x" + "a" * 41]),
)
_bodies = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["wallet", LOWER, "x", '"' + LOWER + '":']), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_bodies)
def test_the_response_checksums_on_the_bytes_exactly_as_the_walk(body: Any) -> None:
    """Same answer as walking the body before encoding: address values checksummed, keys (even address keys) and
    addresses inside longer strings untouched."""
    rendered = ChecksummedJSONResponse(body).body
    assert json.loads(rendered) == checksummed(body)


def test_address_keys_stay_as_they_are() -> None:
    body = json.dumps({LOWER: LOWER, "list": [LOWER]}, separators=(",", ":")).encode()
    assert json.loads(checksummed_json(body)) == {LOWER: CHECKSUMMED, "list": [CHECKSUMMED]}
