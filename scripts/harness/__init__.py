"""Local chains as real processes, for the benchmarks in scripts/ and for the tests (which import it from here,
because scripts never import tests): `chains` (a node or Anvil behind plain JSON-RPC), `node_process` (a node with
its data directory, for restarts), `qbft_network` (a local network of validators) and `repo_system` (the contracts
deployed on in-process py-evm)."""
