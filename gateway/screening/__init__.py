"""What the gateway asks of outside sources about a KYC applicant: the KYC provider (``provider.py``: the built-in
manual review, or a vendor's adapter) and the sanctions list (``sanctions.py``). A running gateway holds one of each in
its context, and kyc's services use them through it, so they sit below both."""
