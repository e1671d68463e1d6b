"""QBFT between several validator nodes (EEA QBFT as Besu implements it).

``messages`` (wire format, signatures), ``state`` (the per-height round state machine, no I/O), ``votes``
(validator-set votes and the tally), ``consensus`` (the ConsensusAPI that verifies a quorum of seals),
``chain`` (executing a proposal without committing it), ``engine`` (the asyncio driver tying the state machine
to the chain, the pool and the peers), ``service``/``rpc``/``cli`` (how a node runs it).
"""
