#!/usr/bin/env python3
"""The node's execution of ERC-20 transfers, in process: CPU milliseconds per transfer of ``Chain.build_block``.

No RPC, no pool, no consensus: a chain in a temporary store (the node's own ``ChainStore``), the fixtures'
TestToken deployed and spread over ``--senders`` senders, then ``--blocks`` blocks of ``--per-block`` transfers
to fresh recipients (two storage writes, one of them a new slot, and an event each) built one after the other, as a
validator builds them; the transactions are decoded and their senders recovered before the clock starts. Prints
the CPU time (``time.process_time``, so other work on the machine counts less than in wall time) per transfer of
each block and their median.

``--vs PATH`` runs the same measurement on another checkout's ``node`` package (e.g. a worktree of main) in
``--pairs`` alternating pairs, order swapped every other pair, and prints each pair, the medians and their ratio
(this / other): the machine's load moves by the minute, so only figures taken side by side compare code.

    .venv/bin/python scripts/bench_execution.py --json
    .venv/bin/python scripts/bench_execution.py --vs /work/wt/base --pairs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

THIS_TREE = Path(__file__).resolve().parents[1]
FIXTURES = THIS_TREE / "scripts" / "harness" / "fixtures" / "contracts.json"
CHAIN_ID = 1337


def measure(tree: Path, senders: int, blocks: int, per_block: int) -> list[float]:
    """ms of CPU per transfer of each block, on ``tree``'s node package."""
    sys.path.insert(0, str(tree))
    from eth_abi import encode as abi_encode
    from eth_account import Account
    from eth_keys.datatypes import PrivateKey
    from eth_utils import keccak, to_checksum_address
    from web3 import Web3

    from node.chain import Chain, initialize_chain
    from node.consensus import SingleValidatorConsensus
    from node.genesis import Genesis, GenesisAccount
    from node.permissioning import AccountPermissioner
    from node.qbft_extra import QbftExtraData
    from node.storage import ChainStore
    from node.txpool import cache_sender, decode_raw_transaction, recover_sender

    key = PrivateKey(keccak(text="reponet-bench-execution"))
    validator = bytes(key.public_key.to_canonical_address())
    accounts = [Account.from_key(keccak(text=f"reponet-bench-execution-{i}")) for i in range(senders)]
    addresses = {bytes.fromhex(a.address[2:]) for a in accounts}
    nonces = {a.address: 0 for a in accounts}

    def signed(account: Any, to: str | None, data: str, gas: int) -> Any:
        tx: dict[str, Any] = {"type": 2, "chainId": CHAIN_ID, "nonce": nonces[account.address], "gas": gas}
        tx.update(value=0, data=data, maxFeePerGas=0, maxPriorityFeePerGas=0)
        if to is not None:
            tx["to"] = to
        nonces[account.address] += 1
        decoded = decode_raw_transaction(bytes(account.sign_transaction(tx).raw_transaction))
        cache_sender(decoded, recover_sender(decoded))
        return decoded

    genesis = Genesis(
        chain_id=CHAIN_ID,
        gas_limit=60_000_000,
        timestamp=1_700_000_000,
        extra_data=QbftExtraData(validators=(validator,)).encode(),
        alloc={a: GenesisAccount(balance=10**20) for a in addresses},
        account_rules=None,
        block_period=None,
    )
    with tempfile.TemporaryDirectory(prefix="bench-execution-") as tmp:
        store = ChainStore(Path(tmp) / "chain.sqlite")
        initialize_chain(store, genesis, (validator,))
        chain = Chain(store, SingleValidatorConsensus(key), AccountPermissioner(addresses, None))
        artifact = json.loads(FIXTURES.read_text())["contracts"]["TestToken"]
        erc20 = Web3().eth.contract(abi=artifact["abi"])
        deployer = accounts[0]
        token = to_checksum_address(keccak(b"\xd6\x94" + bytes.fromhex(deployer.address[2:]) + b"\x80")[12:])
        setup = [signed(deployer, None, artifact["bytecode"] + abi_encode(["uint256"], [10**30]).hex(), 3_000_000)]
        for account in accounts[1:]:
            setup.append(signed(deployer, token, erc20.encode_abi("transfer", args=[account.address, 10**25]), 100_000))
        chain.build_block(setup, 1_700_000_001)
        fresh = 0
        per_transfer = []
        for number in range(blocks):
            txs = []
            for i in range(per_block):
                fresh += 1
                to = to_checksum_address(keccak(text=f"reponet-bench-execution-recipient-{fresh}")[:20])
                txs.append(signed(accounts[i % senders], token, erc20.encode_abi("transfer", args=[to, 1 + i]), 60_000))
            started = time.process_time()
            built = chain.build_block(txs, 1_700_000_002 + number)
            per_transfer.append((time.process_time() - started) * 1000 / per_block)
            if len(built.transactions) != per_block:
                raise RuntimeError(f"block {number}: {len(built.transactions)} of {per_block} transfers included")
        store.close()
    return per_transfer


def run_tree(tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One measurement of ``tree`` in a fresh interpreter (this script, that tree's node package)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--tree", str(tree), "--json"]
    command += ["--senders", str(args.senders), "--blocks", str(args.blocks), "--per-block", str(args.per_block)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compare(args: argparse.Namespace) -> dict[str, Any]:
    pairs = []
    for i in range(args.pairs):
        order = [("this", THIS_TREE), ("other", args.vs)] if i % 2 == 0 else [("other", args.vs), ("this", THIS_TREE)]
        pair: dict[str, Any] = {"load_1m": round(os.getloadavg()[0], 2), "first": order[0][0]}
        for name, tree in order:
            pair[name] = run_tree(tree, args)["median_ms_per_transfer"]
        pairs.append(pair)
    this = statistics.median(p["this"] for p in pairs)
    other = statistics.median(p["other"] for p in pairs)
    return {
        "this_tree": str(THIS_TREE),
        "other_tree": str(args.vs),
        "pairs": pairs,
        "median_this_ms": round(this, 4),
        "median_other_ms": round(other, 4),
        "ratio_this_over_other": round(this / other, 3),
        "this_faster_in": sum(1 for p in pairs if p["this"] < p["other"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--per-block", type=int, default=500)
    parser.add_argument("--tree", type=Path, default=THIS_TREE, help="the checkout whose node package runs")
    parser.add_argument("--vs", type=Path, default=None, help="compare with this checkout in alternating pairs")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.vs is not None:
        out = compare(args)
        if args.json:
            print(json.dumps(out))
        else:
            for p in out["pairs"]:
                figures = f"this {p['this']:.3f} ms  other {p['other']:.3f} ms"
                print(f"load {p['load_1m']:5}  {figures}  ({p['first']} first)")
            print(
                f"median ms per transfer: this {out['median_this_ms']}, other {out['median_other_ms']}, "
                f"ratio {out['ratio_this_over_other']}, this faster in {out['this_faster_in']} of {len(out['pairs'])}"
            )
        return 0
    per_transfer = measure(args.tree.resolve(), args.senders, args.blocks, args.per_block)
    out = {
        "tree": str(args.tree),
        "ms_per_transfer": [round(x, 4) for x in per_transfer],
        "median_ms_per_transfer": round(statistics.median(per_transfer), 4),
        "load_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(out) if args.json else f"ms of CPU per transfer, per block: {out['ms_per_transfer']}, median "
          f"{out['median_ms_per_transfer']} (load {out['load_1m']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
