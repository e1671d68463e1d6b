"""GC order matching: anonymous lend/borrow orders per basket × tenor, matched by price-time priority.

``book.Book`` is the engine, a pure state machine (no I/O, no clock) that ``reponet match`` will drive; its rules
are in ``book``'s docstring and the sides' meaning in ``orders``. ``scripts/bench_matching.py`` measures it.

Settlement within both orders' signed limits (design; not built yet, and the RepoEngine stays as it is — it is
within bytes of EIP-170): each order is authorized once by its member's EIP-712 signature over an ``Order`` struct

    Order(maker, side, cashToken, basketRoot, tenorCode, forwardStartDays, rateBound, sizeMax, minFill,
          sessionId, nonce, deadline)

where ``basketRoot`` is a Merkle root over (bond token, haircut bps) of the basket and ``rateBound`` is the lend
order's floor or the borrow order's cap. A separate ``GcOrderSettlement`` extension contract, holding the engine's
open role for matched trades, verifies both signatures (ERC-1271 for contract wallets), checks ``lend.side ==
LEND``, ``borrow.side == BORROW``, the same cash token, basket, tenor and session, ``lend.rateBound <= rate <=
borrow.rateBound``, ``minFill <= amount`` for both, and ``filled[orderHash] + amount <= sizeMax`` for both, records
the new filled amounts (a cancel marks an order hash as spent), checks the delivered bond against the basket root
with a Merkle proof, and opens the repo on the engine with terms derived from the two orders (PP = amount, the
fill's rate, the tenor's dates, collateral = amount / (price × (1 − haircut)) at the oracle price). Neither member
signs again per fill, and no fill outside what both signed can settle: the same checks this package's property
test asserts off chain."""
