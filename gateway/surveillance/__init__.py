"""Surveillance: AML rules and a per-member anomaly model over members' repo trades, with measured accuracy.

The rules (``rules/``) each target one typology and say which; the model (``model.py``) learns each member's own
normal and scores every new trade against it. ``scripts/surveillance_market.py`` generates a labelled synthetic
market and ``scripts/surveillance_eval.py`` measures both, and both combined, per typology."""
