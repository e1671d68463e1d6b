"""`reponet-node dev --allow`: every address given is allowed, whichever way the flag is written."""

from __future__ import annotations

from pathlib import Path

from eth_account import Account

from scripts.harness.chains import STRANGER, Chain, start_node

ALICE = Account.from_key(bytes.fromhex(f"{0xA1A1:064x}"))
BOB = Account.from_key(bytes.fromhex(f"{0xB0B0:064x}"))
CAROL = Account.from_key(bytes.fromhex(f"{0xCA401:064x}"))
ZERO_FEES = {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}


def _accepted(tmp_path: Path, extra_args: tuple[str, ...]) -> dict[str, int | None]:
    """Which of ALICE, BOB, CAROL, STRANGER may send a zero-fee transaction (error code if refused)."""
    backend = start_node(tmp_path / "node", allow=(), extra_args=extra_args)
    try:
        chain = Chain(backend)
        outcome: dict[str, int | None] = {}
        for name, account in (("alice", ALICE), ("bob", BOB), ("carol", CAROL), ("stranger", STRANGER)):
            raw = chain.sign(account, to=account.address, gas=21_000, nonce=0, fees=ZERO_FEES)
            response = chain.rpc.request("eth_sendRawTransaction", "0x" + raw.hex())
            outcome[name] = response["error"]["code"] if "error" in response else None
        return outcome
    finally:
        backend.stop()


def test_one_allow_flag_with_several_addresses(tmp_path: Path) -> None:
    outcome = _accepted(tmp_path, ("--allow", ALICE.address, BOB.address, CAROL.address))
    assert outcome == {"alice": None, "bob": None, "carol": None, "stranger": -32007}


def test_repeated_allow_flags_allow_every_address(tmp_path: Path) -> None:
    # Was a node bug (found here): `--allow` with nargs='*' and 'store' kept only the last repeated flag.
    outcome = _accepted(tmp_path, ("--allow", ALICE.address, "--allow", BOB.address, "--allow", CAROL.address))
    assert outcome == {"alice": None, "bob": None, "carol": None, "stranger": -32007}
