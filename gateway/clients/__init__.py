"""API clients of member organizations: API keys and OAuth2 client-credentials clients."""
