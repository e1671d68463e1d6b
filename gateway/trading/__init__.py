"""Agreeing repo trades: requests for quote, quotes, direct bilateral terms, and the EIP-712 terms they produce."""
