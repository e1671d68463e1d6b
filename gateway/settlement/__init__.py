"""Settlement on chain: the relayer, its nonce manager, settlement steps tracked until final, lifecycle calls."""
