"""The chain accounts of a data directory: a key per on-chain purpose, the admin multisig's owners, and the keys the
gateway is given (never an admin's).

The operator key deploys and wires the contracts, hands every admin role to the ``AdminManager`` and renounces
what it held: afterwards it administers nothing. The owners' keys sign admin ceremonies (contracts/CEREMONY.md);
``up`` generates them so a local network works out of the box, and a real deployment moves each to its own person
and device and rotates them through the ceremony.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from eth_account.signers.local import LocalAccount

from contracts.governance import RoleHolders
from gateway.datadir import DataDir
from gateway.ops.targets import owner_key_name

ADMIN_OWNERS = 3
ADMIN_THRESHOLD = 2


class Purpose(StrEnum):
    """An on-chain purpose with its own key (``secrets/<value>.key``), role and nonce sequence."""

    KYC_AGENT = "kyc-agent"
    ORACLE_FEEDER = "oracle-feeder"
    ISSUER = "issuer"
    RELAYER = "relayer"
    ANCHOR = "anchor"
    GUARDIAN = "guardian"


# The gateway's key for each purpose it writes for. The guardian's key stays with the operator (``reponet`` CLI).
GATEWAY_KEY_ENV: dict[Purpose, str] = {
    Purpose.RELAYER: "REPONET_RELAYER_PRIVATE_KEY",
    Purpose.KYC_AGENT: "REPONET_KYC_AGENT_KEY",
    Purpose.ORACLE_FEEDER: "REPONET_ORACLE_FEEDER_KEY",
    Purpose.ISSUER: "REPONET_ISSUER_KEY",
    Purpose.ANCHOR: "REPONET_ANCHOR_KEY",
}
# REPONET_CHAIN_PRIVATE_KEY, the fallback of every purpose without its own key, is the KYC agent's: today's gateway
# registers identities and freezes with it (and anchors with it until the per-purpose senders land).
FALLBACK_ENV = "REPONET_CHAIN_PRIVATE_KEY"
FALLBACK_PURPOSE = Purpose.KYC_AGENT


@dataclass(frozen=True)
class ChainAccounts:
    operator: LocalAccount
    by_purpose: dict[Purpose, LocalAccount]
    owners: tuple[LocalAccount, ...]

    @classmethod
    def load(cls, data_dir: DataDir, operator_key: str | None = None) -> ChainAccounts:
        """The data dir's keys, each created (owner-only file) on first use."""
        return cls(
            operator=data_dir.account("operator", operator_key),
            by_purpose={p: data_dir.account(p.value) for p in Purpose},
            owners=tuple(data_dir.account(owner_key_name(i + 1)) for i in range(ADMIN_OWNERS)),
        )

    def __getitem__(self, purpose: Purpose) -> LocalAccount:
        return self.by_purpose[purpose]

    @property
    def holders(self) -> RoleHolders:
        return RoleHolders(**{p.name.lower(): self[p].address for p in Purpose})

    @property
    def senders(self) -> list[str]:
        """Every account that sends transactions: the node's permissioning lets them through."""
        return [self.operator.address, *(a.address for a in self.by_purpose.values()), *self.owner_addresses]

    @property
    def owner_addresses(self) -> list[str]:
        return [o.address for o in self.owners]

    def gateway_keys(self) -> dict[str, str]:
        """The gateway's chain keys by env name: one per purpose, never the operator's nor an owner's."""
        keys = {env: _hex(self[p]) for p, env in GATEWAY_KEY_ENV.items()}
        keys[FALLBACK_ENV] = _hex(self[FALLBACK_PURPOSE])
        return keys


def _hex(account: LocalAccount) -> str:
    return "0x" + bytes(account.key).hex()
