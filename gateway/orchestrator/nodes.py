"""The node steps of ``reponet up``: genesis and validator key, starting one node or a local QBFT network, and the
node's tokens (the operator's admin token per node, the gateway's JSON-RPC token)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from gateway.ops.chain import connect
from gateway.orchestrator.accounts import Purpose
from gateway.orchestrator.context import UpContext, binary, rpc
from gateway.orchestrator.exceptions import NotAvailable, UpError
from gateway.orchestrator.supervisor import Child

DEFAULT_GAS_LIMIT = 60_000_000
NODE_READY_SECONDS = 60.0
SINGLE_NODE_BLOCK_TIME = 0.5
# A QBFT round among validators sharing this host's cores takes longer than one node's block; 1 s keeps rounds from
# timing out under load by default, and `--block-time` lowers it where the cores allow (the settlement benchmark).
NETWORK_BLOCK_TIME = 1.0


class NodeSteps:
    def __init__(self, ctx: UpContext) -> None:
        self.ctx = ctx
        self._gateway_token: str | None = None

    def check_network_command(self) -> None:
        probe = subprocess.run([binary("reponet-node"), "network", "--help"], capture_output=True, timeout=60)
        if probe.returncode != 0:
            raise NotAvailable(
                "--validators N needs `reponet-node network` (the QBFT issue), which this install does not have; "
                "run without --validators for a single-validator node"
            )

    def init_node(self) -> None:
        ctx = self.ctx
        if not ctx.state.managed_node or ctx.state.validators > 1 or (ctx.dir.node / "chain.sqlite").exists():
            return  # a QBFT network is initialised by `reponet-node network` itself
        ctx.dir.secret("validator.key")  # created here, read by `reponet-node init` from its owner-only file
        ctx.dir.secret("node-password")
        genesis = {
            "config": {"chainId": ctx.state.chain_id, "qbft": {"blockperiodseconds": 1}},
            "gasLimit": hex(DEFAULT_GAS_LIMIT),
            "timestamp": hex(int(time.time())),
            "extraData": "0x",
            "alloc": {},
        }
        ctx.dir.genesis.write_text(json.dumps(genesis, indent=2) + "\n")
        result = subprocess.run(
            [
                binary("reponet-node"),
                "init",
                "--data-dir",
                str(ctx.dir.node),
                "--genesis",
                str(ctx.dir.genesis),
                "--validator-key",
                str(ctx.dir.secrets / "validator.key"),
                "--password-file",
                str(ctx.dir.secrets / "node-password"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise UpError(f"reponet-node init failed ({result.returncode}): {result.stderr.strip()}")
        ctx.step("genesis and validator key", f"chain id {ctx.state.chain_id}, {ctx.dir.genesis}")

    def start_node(self) -> Child | None:
        ctx, s = self.ctx, self.ctx.state
        if not s.managed_node:
            w3 = connect(s.rpc_url, token=ctx.config.rpc_token)
            try:
                chain_id = w3.eth.chain_id
            except Exception as exc:
                raise UpError(f"cannot reach the chain at {s.rpc_url}: {exc}") from exc
            s.chain_id = chain_id
            ctx.save()
            ctx.step("using an existing chain", f"{s.rpc_url}, chain id {chain_id}")
            return None
        if s.validators > 1:
            return self._start_network()
        child = ctx.supervisor.start(
            "node",
            [
                binary("reponet-node"),
                "run",
                "--data-dir",
                str(ctx.dir.node),
                "--password-file",
                str(ctx.dir.secrets / "node-password"),
                "--rpc-host",
                s.node_host,
                "--rpc-port",
                str(s.node_port),
                "--block-time",
                str(ctx.config.block_time or SINGLE_NODE_BLOCK_TIME),
                *self._system_senders(),
            ],
            ctx.dir.logs / "node.log",
        )
        ctx.supervisor.wait_until(
            child, lambda: ctx.rpc("eth_chainId") is not None, NODE_READY_SECONDS, "JSON-RPC eth_chainId"
        )
        head = int(ctx.rpc("eth_blockNumber"), 16)
        ctx.step("node started", f"JSON-RPC {s.rpc_url}, head {head}, pid {child.process.pid}")
        return child

    def _start_network(self) -> Child:
        ctx, s = self.ctx, self.ctx.state
        network_dir = ctx.dir.path / "network"
        argv = [
            binary("reponet-node"),
            "network",
            "--data-dir",
            str(network_dir),
            "--validators",
            str(s.validators),
            "--base-port",
            str(s.node_port),
            "--rpc-host",
            s.node_host,
            "--chain-id",
            str(s.chain_id),
            "--accounts",
            "0",
            "--period",
            str(ctx.config.block_time or NETWORK_BLOCK_TIME),
            *self._system_senders(),
        ]
        if not (network_dir / "network.json").exists():
            # Only at creation: on a resumed network, `network --allow` also globs node*.log (a node CLI bug),
            # and AccountRules governs anyway once permissioning is set.
            argv += ["--allow", *self.deploy_senders()]
        child = ctx.supervisor.start("network", argv, ctx.dir.logs / "network.log")

        def ready() -> bool:
            peers = int(ctx.rpc("net_peerCount"), 16)
            return peers >= s.validators - 1

        ctx.supervisor.wait_until(child, ready, NODE_READY_SECONDS * 2, "every validator peered")
        head = int(ctx.rpc("eth_blockNumber"), 16)
        urls = ", ".join(url for url, _ in self.admin_endpoints())
        ctx.step(
            f"QBFT network of {s.validators} validators started",
            f"JSON-RPC {urls}, head {head}, logs {network_dir}/node*.log",
        )
        return child

    def deploy_senders(self) -> list[str]:
        """The accounts that transact before AccountRules governs: the deployer, and the feeder's first prices."""
        accounts = self.ctx.accounts
        return [accounts.operator.address, accounts[Purpose.ORACLE_FEEDER].address]

    def _system_senders(self) -> list[str]:
        """The accounts whose transactions keep a reserved part of the node's pool: settlement never waits."""
        return ["--txpool-system-senders", *self.ctx.accounts.senders]

    def gateway_rpc_token(self) -> str | None:
        """A JSON-RPC token for the gateway: read and send, and the traces that explain a failed step; never
        administration. Minted at every start (30 days), from the managed node's token key."""
        ctx = self.ctx
        if not ctx.state.managed_node:
            return ctx.config.rpc_token
        if self._gateway_token is None:
            result = subprocess.run(
                [
                    binary("reponet-node"),
                    "token",
                    "issue",
                    "--key",
                    str(ctx.dir.node_token_key(ctx.state)),
                    "--subject",
                    "gateway",
                    "--methods",
                    "eth,net,web3,debug:traceTransaction",
                    "--expires",
                    "30d",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if result.returncode != 0:
                raise UpError(f"reponet-node token issue failed ({result.returncode}): {result.stderr.strip()}")
            self._gateway_token = result.stdout.strip()
        return self._gateway_token

    def admin_endpoints(self) -> list[tuple[str, Path]]:
        """Every node's JSON-RPC URL and admin-token file (operator methods go to each node)."""
        ctx, s = self.ctx, self.ctx.state
        if s.validators <= 1:
            return [(s.rpc_url, ctx.dir.node / "admin.token")]
        network = json.loads((ctx.dir.path / "network" / "network.json").read_text())
        return [
            (f"http://{s.node_host}:{s.node_port + i}", ctx.dir.path / "network" / node["dir"] / "admin.token")
            for i, node in enumerate(network["nodes"])
        ]

    def admin_all(self, method: str, params: list[Any]) -> None:
        for url, token_file in self.admin_endpoints():
            rpc(url, method, params, token_file.read_text().strip())
