"""The EIP-712 nonce of a trade's terms, given out in sequence per wallet.

The engine keeps used nonces as bitmaps, 256 to a storage word per signer (``nonce >> 8`` selects the word), and one
terms nonce is used by both the seller and the buyer. A random 128-bit nonce marks a fresh word of each: two
zero-to-nonzero stores per open (about 34,500 more gas than setting a bit of a word already in use, and a new node of
the state trie each). Nonces given out in order mark bits of the same word for 256 opens.

Each wallet has its next nonce (``terms_nonces``); a trade takes the larger of its two wallets' and moves both past
it, so a pair that trades often shares one sequence, like a Lamport clock. A wallet's first nonce starts at a random
word (``BASE_BITS``), so another deployment's, or another signer's, nonces of the same wallet are not met by chance.
Taking it is a compare-and-swap on each row in the caller's transaction: two trades never get the same nonce, and a
nonce is never reused (a failed open's is cancelled on chain; a skipped one is simply never used).
"""

from __future__ import annotations

import secrets

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.trading.models import TermsNonce

BASE_BITS = 54  # a first nonce below 2**62: a BigInteger column holds every nonce a wallet will ever reach


def _first() -> int:
    return secrets.randbits(BASE_BITS) << 8  # the start of a word: its 256 bits are all the wallet's to come


def next_terms_nonce(session: Session, *, seller: str, buyer: str) -> int:
    """A nonce neither wallet has been given, and each wallet's next nonce moved past it (in ``session``'s
    transaction, committed with the trade that carries it)."""
    addresses = sorted({seller.lower(), buyer.lower()})
    while True:
        rows = {a: session.get(TermsNonce, a, populate_existing=True) for a in addresses}
        known = [row.next_nonce for row in rows.values() if row is not None]
        nonce = max(known) if known else _first()
        if all(_claim(session, address, rows[address], nonce) for address in addresses):
            return nonce


def _claim(session: Session, address: str, row: TermsNonce | None, nonce: int) -> bool:
    """Move ``address``'s next nonce from what ``row`` read to ``nonce + 1``; False if another trade moved it first."""
    if row is None:
        try:
            with session.begin_nested():
                session.add(TermsNonce(address=address, next_nonce=nonce + 1))
        except IntegrityError:
            return False  # another trade gave this wallet its first nonce meanwhile: read again
        return True
    swapped = session.execute(
        update(TermsNonce)
        .where(TermsNonce.address == address, TermsNonce.next_nonce == row.next_nonce)
        .values(next_nonce=nonce + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(swapped == 1)
