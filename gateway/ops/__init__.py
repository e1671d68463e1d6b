"""Operator commands of the ``reponet`` CLI (kyc, wallet, cash, bond, price, status) and their clients."""
