"""RepoNet's permissioned EVM node on py-evm. It knows nothing of repos."""
