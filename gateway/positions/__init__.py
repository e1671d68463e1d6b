"""Read views: positions with accrued repurchase price, repo detail with its timeline, trades, balances."""
