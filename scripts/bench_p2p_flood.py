#!/usr/bin/env python3
"""A node's memory under unproven p2p connections that announce huge messages (issue 15's 8-connection case).

Starts a one-validator network node (`reponet-node init --validators 1`, then `run`) in a temporary directory, reads
its RSS, opens `--connections` TCP connections to its p2p port at once, each announcing a 32 MiB first message and
streaming it, and reads the RSS again once every connection was either closed by the node or finished sending.
Prints RSS before and after, how many connections the node closed while they were still sending, and the time the
flood took (`--json`: one object). The node process is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-p2p-flood-password"
MESSAGE = 32 * 1024 * 1024
CHUNK = 1 << 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the node exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError("the node's p2p port did not open")


async def flood(port: int, connections: int) -> int:
    chunk = os.urandom(CHUNK)

    async def one() -> bool:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(MESSAGE.to_bytes(4, "big"))
            for _ in range(MESSAGE // CHUNK):
                writer.write(chunk)
                await writer.drain()
        except OSError:
            return True
        finally:
            writer.close()
        return False

    return sum(await asyncio.gather(*(one() for _ in range(connections))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {**os.environ, "REPONET_NODE_PASSWORD": PASSWORD}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "net"
        node = [sys.executable, "-m", "node.cli"]
        ports = ["--base-port", str(free_port()), "--p2p-base-port", str(free_port())]
        subprocess.run(
            [*node, "init", "--validators", "1", "--data-dir", str(root), "--accounts", "1", *ports],
            check=True,
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
        )
        port = int(json.loads((root / "node0" / "network.json").read_text())["p2p_port"])
        proc = subprocess.Popen(
            [*node, "run", "--data-dir", str(root / "node0"), "--rpc-port", "0", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            asyncio.run(wait_listening(port, proc, 60))
            before = rss(proc.pid)
            started = time.monotonic()
            closed = asyncio.run(flood(port, args.connections))
            seconds = time.monotonic() - started
            after = rss(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    result = {
        "connections": args.connections,
        "rss_before_mb": round(before / 1e6, 1),
        "rss_after_mb": round(after / 1e6, 1),
        "closed_by_node": closed,
        "seconds": round(seconds, 2),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.connections} connections announcing {MESSAGE >> 20} MiB each: RSS {result['rss_before_mb']} MB"
            f" -> {result['rss_after_mb']} MB; {closed} closed by the node while sending ({seconds:.2f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
