"""Events out: the WebSocket stream and signed webhooks, fed by the indexer."""
