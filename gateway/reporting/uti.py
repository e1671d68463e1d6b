"""Unique Transaction Identifiers (SFTR RTS 2019/356 field 2.1) and the LEIs they start with.

The UTI is made once per repo and both sides derive the same one without talking: the generating entity is the
collateral taker (the cash lender, the buyer at opening: ESMA's UTI waterfall between two financial
counterparties), and its LEI is followed by 32 upper-case hexadecimal characters of SHA-256 over the opening
transaction's hash and the repo id, which the chain made unique. 52 characters, ISO 23897-compatible alphabet."""

from __future__ import annotations

import hashlib
import re

from gateway.members.validation import lei_checksum_ok
from gateway.reporting.exceptions import MemberLeiInvalid

UTI_PATTERN = re.compile(r"^[A-Z0-9]{1,52}$")
SUFFIX_CHARS = 32


def validate_lei(lei: str, *, whose: str) -> str:
    """ISO 17442: 18 alphanumerics and two check digits with value mod 97 == 1; refused otherwise."""
    if not lei_checksum_ok(lei):
        raise MemberLeiInvalid(f"{whose}: {lei!r} is not a valid ISO 17442 LEI (format or MOD 97-10 check digits)")
    return lei


def make_uti(*, generator_lei: str, opening_tx_hash: str, repo_id: int) -> str:
    """The repo's UTI: ``generator_lei`` (validated) and a digest of what made the repo on chain."""
    validate_lei(generator_lei, whose="UTI generating entity")
    seed = f"{opening_tx_hash.lower()}:{repo_id}".encode()
    uti = generator_lei + hashlib.sha256(seed).hexdigest().upper()[:SUFFIX_CHARS]
    assert UTI_PATTERN.fullmatch(uti)
    return uti
