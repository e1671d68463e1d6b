"""The custody door: the only code that can produce a signature with a member's custodial key.

Every signature it makes — trade terms, lifecycle instructions, transactions — passes the member's KYC, the
member's policy and records the consent of one of the member's people (``consents``): who, what digest, when.
Nothing else in the gateway decrypts a custodial key; an operator has no path to one.
"""
