"""The block header of a RepoNet chain: py-evm's Prague header with Besu's QBFT block hash.

Besu hashes a QBFT header with the committed seals left out of the extra-data, so that every validator
names the same block whatever quorum of seals it collected. py-evm hashes the full RLP, so this subclass
overrides ``hash``; everything else (fields, RLP encoding on the wire and on disk) is py-evm's.
"""

from __future__ import annotations

from typing import Any, cast

import rlp
from eth.vm.forks.prague.blocks import PragueBlockHeader
from eth_hash.auto import keccak
from eth_typing import Hash32

from node import qbft_extra


class QbftHeader(PragueBlockHeader):
    """A Prague header whose hash excludes the committed seals (Besu QBFT on-chain hash)."""

    _hash: Hash32 | None = None

    @property
    def hash(self) -> Hash32:
        if self._hash is None:
            without_seals = qbft_extra.strip_seals(self.extra_data)
            self._hash = cast(Hash32, keccak(rlp.encode(self.copy(extra_data=without_seals), cache=False)))
        return self._hash

    @property
    def hex_hash(self) -> str:
        return "0x" + self.hash.hex()


def copy_header(header: QbftHeader, **changes: Any) -> QbftHeader:
    """``header.copy`` typed as ours (py-evm types it as the abstract header)."""
    return cast(QbftHeader, header.copy(**changes))


def decode_header(data: bytes) -> QbftHeader:
    return cast(QbftHeader, rlp.decode(data, sedes=QbftHeader))


def encode_header(header: PragueBlockHeader) -> bytes:
    return cast(bytes, rlp.encode(header))
