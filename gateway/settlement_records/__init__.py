"""Settlement's records (the outbox's settlements and steps, instructions, the indexed repos) and the step specs the
relayer is asked to send: below custody and policy, which read them, and below settlement, which writes them."""
