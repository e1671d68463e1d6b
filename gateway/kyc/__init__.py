"""KYC onboarding: applications, sanctions screening, review with four eyes, on-chain whitelisting."""
