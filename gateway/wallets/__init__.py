"""Wallets: custodial keys held encrypted by the gateway, and self-held addresses proven by SIWE."""
