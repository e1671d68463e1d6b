"""Ethereum JSON-RPC 2.0 over HTTP and WebSocket (execution-apis shapes, geth's error wording)."""
