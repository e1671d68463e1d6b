"""Authentication: passwords, TOTP, tokens, sessions, API keys and OAuth2 clients."""
