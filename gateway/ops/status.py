"""``reponet status`` (chain head and peers, node permissioning, gateway readiness) and ``reponet env`` (the shell
line that loads the gateway's settings)."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

import httpx

from gateway.ops.client import ApiError
from gateway.ops.network import Network


def _rpc(url: str, method: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}
    answer = httpx.post(url, json=body, headers=headers, timeout=5).json()
    if "error" in answer:
        raise RuntimeError(answer["error"].get("message"))
    return answer["result"]


def status(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    data: dict[str, Any] = {"rpc_url": net.rpc_url, "gateway_url": net.gateway_url, "healthy": True}
    try:
        head = net.w3.eth.get_block("latest")
        data["chain"] = {
            "ok": True,
            "chain_id": net.w3.eth.chain_id,
            "head": int(head["number"]),
            "head_time": int(head["timestamp"]),
        }
        try:
            data["chain"]["peers"] = int(_rpc(net.rpc_url, "net_peerCount", net.rpc_token), 16)
        except Exception:
            data["chain"]["peers"] = None
        try:
            data["chain"]["permissioning"] = _rpc(net.rpc_url, "reponet_permissioning", net.rpc_token).get(
                "accountRules"
            )
        except Exception:
            data["chain"]["permissioning"] = None
    except Exception as exc:
        data["chain"] = {"ok": False, "error": str(exc)}
        data["healthy"] = False
    try:
        ready = net.gateway.get("/readyz")
        data["gateway"] = {"ok": True, **ready}
    except ApiError as exc:
        data["gateway"] = {"ok": False, "status": exc.status, "detail": exc.problem}
        data["healthy"] = False
    c, g = data["chain"], data["gateway"]
    lines = [
        f"chain    {net.rpc_url}: "
        + (
            f"chain id {c['chain_id']}, head {c['head']}, peers {c['peers']}, "
            f"account rules {c.get('permissioning') or 'n/a'}"
            if c["ok"]
            else f"UNREACHABLE ({c['error']})"
        ),
        f"gateway  {net.gateway_url}: "
        + (
            f"{g.get('status')} (" + ", ".join(f"{k} {v['detail']}" for k, v in g.get("checks", {}).items()) + ")"
            if g["ok"]
            else f"NOT READY ({g.get('status')}: {g.get('detail')})"
        ),
    ]
    return data, "\n".join(lines)


def env(args: argparse.Namespace, net: Network) -> tuple[Any, str]:
    """A shell line that loads the gateway's settings (``eval "$(reponet env)"``) for the gateway's own commands
    (keys rotate, audit verify); it names the owner-only file rather than printing the secrets in it."""
    path = net.dir.env_file.resolve()
    names = sorted(line.split("=", 1)[0] for line in path.read_text().splitlines() if "=" in line)
    return {"env_file": str(path), "variables": names}, f"set -a; . {shlex.quote(str(path))}; set +a"
