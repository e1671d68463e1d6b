"""Leases for the over-the-wire services (risk, price feed, surveillance): one active instance of each kind per
organization, elected through the gateway's API, with a fencing token the gateway checks on their writes."""
