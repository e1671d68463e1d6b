#!/usr/bin/env python3
"""The same QBFT network for Hyperledger Besu: genesis, permissioning config, static nodes and one config per node.

Input is a network made by `reponet-node init --validators N --data-dir DIR` (or `reponet-node network`). Output,
in `--out` (default DIR/besu):

    genesis.json             Besu QBFT genesis: the same chain id, alloc, gas limit, timestamp and QBFT extra-data
                             (RLP[vanity, validators, vote, round, seals]) so block 0 names the same validators;
                             zeroBaseFee; config.qbft block period / epoch / request timeout (whole seconds)
    permissions_config.toml  nodes-allowlist (enode URLs) and accounts-allowlist, Besu's local permissioning file
    static-nodes.json        every node's enode URL
    node<i>/besu.toml        a Besu config file per node (data path, ports, permissioning, RPC APIs incl. QBFT)
    node<i>/key              (only with --export-keys) the node's private key: in Besu, as here, the node key IS
                             the validator key; decrypted from the keystore with the network's password

Then on each host: `besu --config-file=node<i>/besu.toml`. The account-rules contract (genesis
config.reponet.accountRulesAddress) maps to Besu's --permissions-accounts-contract-address; a node-rules contract to
--permissions-nodes-contract-address with --permissions-nodes-contract-version=2 (connectionAllowed(string,string,
uint16)). This starts a NEW chain with the same genesis; it does not carry over blocks made by reponet-node.
This script cannot be exercised against Besu in this repository's CI (no JVM); it only writes files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from node.keystore import load_keystore, read_password  # noqa: E402
from node.p2p.enode import Enode  # noqa: E402
from node.p2p.permissions import write_permissions_file  # noqa: E402
from node.permissioning import read_allowlist  # noqa: E402
from node.qbft_extra import QBFT_MIX_HASH  # noqa: E402

FORKS_AT_BLOCK = [
    "homesteadBlock",
    "eip150Block",
    "eip155Block",
    "eip158Block",
    "byzantiumBlock",
    "constantinopleBlock",
    "petersburgBlock",
    "istanbulBlock",
    "berlinBlock",
    "londonBlock",
]
FORKS_AT_TIME = ["shanghaiTime", "cancunTime", "pragueTime"]


def besu_genesis(ours: dict[str, object], period: float, epoch: int, timeout: float) -> dict[str, object]:
    config = dict(ours.get("config", {}))  # type: ignore[call-overload]
    chain_id = config["chainId"]
    out_config: dict[str, object] = {"chainId": chain_id}
    out_config.update({fork: 0 for fork in FORKS_AT_BLOCK})
    out_config.update({fork: 0 for fork in FORKS_AT_TIME})
    out_config["zeroBaseFee"] = True
    out_config["qbft"] = {
        "blockperiodseconds": max(1, math.ceil(period)),
        "epochlength": epoch,
        "requesttimeoutseconds": max(1, math.ceil(timeout)),
    }
    return {
        "config": out_config,
        "nonce": "0x0",
        "timestamp": ours.get("timestamp", "0x0"),
        "gasLimit": ours["gasLimit"],
        "difficulty": "0x1",
        "mixHash": "0x" + QBFT_MIX_HASH.hex(),
        "coinbase": "0x" + "00" * 20,
        "extraData": ours["extraData"],
        "alloc": ours.get("alloc", {}),
    }


def node_config(i: int, enode: Enode, rpc_port: int, rules: str | None) -> str:
    lines = [
        f'data-path="node{i}/data"',
        f'node-private-key-file="node{i}/key"',
        'genesis-file="genesis.json"',
        f"p2p-port={enode.port}",
        'static-nodes-file="static-nodes.json"',
        "rpc-http-enabled=true",
        'rpc-http-host="127.0.0.1"',
        f"rpc-http-port={rpc_port}",
        'rpc-http-api=["ETH","NET","WEB3","QBFT","TXPOOL"]',
        "rpc-ws-enabled=true",
        f"rpc-ws-port={rpc_port + 1000}",
        "min-gas-price=0",
        "permissions-nodes-config-file-enabled=true",
        'permissions-nodes-config-file="permissions_config.toml"',
    ]
    if rules:
        lines += ["permissions-accounts-contract-enabled=true", f'permissions-accounts-contract-address="{rules}"']
    else:
        lines += [
            "permissions-accounts-config-file-enabled=true",
            'permissions-accounts-config-file="permissions_config.toml"',
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", type=Path, required=True, help="directory made by reponet-node init --validators")
    parser.add_argument("--out", type=Path, help="output directory (default NETWORK/besu)")
    parser.add_argument("--rpc-base-port", type=int, default=8545)
    parser.add_argument("--export-keys", action="store_true", help="write each node's private key (node<i>/key)")
    parser.add_argument("--password-file", type=Path, help="keystore password (default NETWORK/password.txt)")
    args = parser.parse_args(argv)
    root: Path = args.network
    out: Path = args.out or root / "besu"
    summary = json.loads((root / "network.json").read_text())
    ours = json.loads((root / "genesis.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    genesis = besu_genesis(
        ours, float(summary["block_period"]), int(summary["epoch_length"]), float(summary["request_timeout"])
    )
    (out / "genesis.json").write_text(json.dumps(genesis, indent=2) + "\n")
    enodes = [Enode.parse(node["enode"]) for node in summary["nodes"]]
    accounts = sorted(read_allowlist(root / summary["nodes"][0]["dir"] / "allowlist.txt"))
    write_permissions_file(out / "permissions_config.toml", enodes, accounts)
    (out / "static-nodes.json").write_text(json.dumps([str(e) for e in enodes], indent=2) + "\n")
    reponet = ours.get("config", {}).get("reponet", {})
    rules = reponet.get("accountRulesAddress") if isinstance(reponet, dict) else None
    password = None
    if args.export_keys:
        password = read_password(args.password_file or root / "password.txt")
    for i, (node, enode) in enumerate(zip(summary["nodes"], enodes, strict=True)):
        node_dir = out / f"node{i}"
        node_dir.mkdir(exist_ok=True)
        (node_dir / "besu.toml").write_text(node_config(i, enode, args.rpc_base_port + i, rules))
        if password is not None:
            key = load_keystore(root / node["dir"] / "validator.keystore.json", password)
            fd = os.open(node_dir / "key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write("0x" + key.to_bytes().hex())
    print(f"wrote a {len(summary['validators'])}-validator Besu QBFT network to {out}")
    if period := float(summary["block_period"]):
        if period < 1:
            print(f"note: Besu's blockperiodseconds is whole seconds; {period}s was rounded up to 1")
    if not args.export_keys:
        print("node keys not exported: pass --export-keys (each node<i>/key is that validator's private key)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
