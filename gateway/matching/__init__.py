"""The GC order book: anonymous lend/borrow orders per basket × tenor, matched by price-time priority, each fill
settled on chain at once within both orders' signed limits.

- ``book.Book`` is the engine, a pure state machine (no I/O, no clock; its rules in ``book``'s docstring, the sides'
  meaning in ``orders``), driven by ``reponet match`` (``runner``, ``cli``), its own process.
- The gateway lists baskets (``baskets``), takes orders signed once by the member's custodial wallet through the
  custody door (``entry``), queues them with cancellations, credit limits and end-of-day expiries for the service
  in sequence (``instructions``, ``session_end``), records its answers after checking each fill against both signed
  orders (``outcomes``), and settles each fill through the outbox (``settle``): ``settleGcFill`` on the engine's GC
  extension (contracts/src/RepoGcSettlement.sol), which checks every limit again and opens the repo.
- Market data: depth, trades, the daily fixing, and ``gc.trade`` / ``gc.fill`` on the stream (``market_data``).

``scripts/bench_matching.py`` measures the engine alone; ``scripts/bench_gc.py`` matches settled on chain."""
