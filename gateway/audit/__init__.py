"""Tamper-evident audit trail: a hash-chained log of every state-changing request and decision."""
