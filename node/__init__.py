"""RepoNet's permissioned EVM node on py-evm. It knows nothing of repos."""

__version__ = "0.1.0"
