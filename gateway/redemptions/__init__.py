"""Redemption of tokenized cash: a member's request (its consent to the issuer's burn), executed by the issuer."""
