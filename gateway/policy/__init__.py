"""The per-organization policy engine (ordered rules, first match wins), rule drafts and trade approvals."""
