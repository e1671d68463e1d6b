"""RepoNet's permissioned EVM node on py-evm. It knows nothing of repos."""

import os

# keccak dominates trie hashing, and pysha3 (a declared dependency) is about 3x faster than pycryptodome, eth-hash's
# first choice. eth-hash fixes its backend at the first hash, and importing our modules already hashes (constants
# such as function selectors), so the choice is made here, before any of them: setting it in main() was too late.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

__version__ = "0.1.0"
