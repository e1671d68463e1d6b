"""Typed bindings of the deployed contracts: what the gateway reads from them, decoded by field name into
dataclasses and enums (no positional access to a struct outside this package)."""
