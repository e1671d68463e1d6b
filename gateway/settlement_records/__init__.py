"""Settlement's records (the outbox's settlements and steps, instructions, the indexed repos and the indexer's
cursor), the step specs the relayer is asked to send, and read-your-writes on the indexed records (``freshness``):
below custody and policy, which read them, and below settlement and the indexer, which write them."""
