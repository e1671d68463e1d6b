"""Signing EIP-712 instructions: custodial (policy, KYC, step-up) and self-held (EOA or ERC-1271 verification)."""
