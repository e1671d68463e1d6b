"""RepoNet's on-chain system: compiled artifacts, deployment and EIP-712 type definitions.

The Solidity sources live in ``contracts/src``; this package only loads their committed artifacts, so the
running system needs no Node.js.
"""
