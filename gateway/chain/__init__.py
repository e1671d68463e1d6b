"""The gateway's only link to the chain: JSON-RPC calls behind the ``ChainClient`` interface."""
