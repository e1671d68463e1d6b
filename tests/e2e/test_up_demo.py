"""``reponet up`` in a temporary directory on free ports, ``reponet demo`` against it, the demo's final balances
checked on chain over JSON-RPC, a clean stop with SIGINT, and a second start that finds the state intact.

Bounded: every wait has a deadline, and the processes (``up`` and the children it lists in ``run.json``) are
always stopped, killed if need be.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.exit_status import ExitStatus

# The whole flow takes about two minutes on an idle machine; the bound is generous for a busy one.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
REPONET = [sys.executable, "-m", "gateway.cli"]
UP_READY_SECONDS = 150
DEMO_SECONDS = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class UpProcess:
    def __init__(self, data_dir: Path, rpc_port: int, port: int, log: Path, extra: list[str] | None = None) -> None:
        self.data_dir, self.log = data_dir, log
        handle = open(log, "ab")  # closed in kill()
        self._handle = handle
        self.proc = subprocess.Popen(
            [*REPONET, "up", "--data-dir", str(data_dir), "--rpc-port", str(rpc_port), "--port", str(port)]
            + (extra or []),
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + UP_READY_SECONDS
        while "RepoNet is up." not in self.output():
            if self.proc.poll() is not None:
                pytest.fail(f"reponet up exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"reponet up not ready in {UP_READY_SECONDS} s:\n{self.output()[-3000:]}")
            time.sleep(0.5)

    def children(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads((self.data_dir / "run.json").read_text()).items()}
        except (OSError, ValueError):
            return {}

    def interrupt(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)

    def kill(self) -> None:
        """Whatever is still running, ``up``'s children included, is killed (they run in their own sessions)."""
        children = self.children()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for name, pid in children.items():
            if name == "up":
                continue
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._handle.close()


@pytest.fixture
def network(tmp_path: Path) -> Iterator[tuple[Path, int, int]]:
    yield tmp_path / "reponet", _free_port(), _free_port()


def _balance(w3: Any, token: str, holder: str) -> int:
    from contracts.deploy import contract

    return int(contract(w3, "CashToken", token).functions.balanceOf(holder).call())


def test_up_demo_stop_and_resume(network: tuple[Path, int, int], tmp_path: Path) -> None:
    from gateway.ops.chain import connect, to_units
    from gateway.reporting.xml_export import validation_errors

    data_dir, rpc_port, port = network
    up = UpProcess(data_dir, rpc_port, port, tmp_path / "up-1.log")
    try:
        up.wait_ready()
        first = up.output()
        assert "(new)" in first
        assert "One-time password:" in first and "otpauth://totp/" in first and "█" in first  # QR code
        assert f"https://127.0.0.1:{port}" in first and f"http://127.0.0.1:{rpc_port}" in first
        assert set(up.children()) == {"up", "node", "gateway", "risk", "feed", "surveillance", "match"}

        demo = subprocess.run(
            [
                *REPONET,
                "--json",
                "demo",
                "--data-dir",
                str(data_dir),
                "--maturity-seconds",
                "25",
                "--default-seconds",
                "8",
            ],
            capture_output=True,
            text=True,
            timeout=DEMO_SECONDS,
            cwd=ROOT,
        )
        assert demo.returncode == 0, demo.stderr[-4000:]
        result = json.loads(demo.stdout.strip().splitlines()[-1])
        for chapter in (
            "onboarded and KYC-approved",
            "The GC order book: two anonymous orders match",
            "coupon on",
            "A repo in rEUR against the USD bond",
            "the USD bond's fall, valued in EUR, calls margin",
            "repurchase in rEUR",
            "margin call, cured",
            "default and close-out",
            "repurchase",
            "audit trail is verified",
            "Balances on chain",
            "Repo timelines",
        ):
            assert chapter in demo.stderr
        assert [r["status"] for r in result["repos"]] == ["REPURCHASED", "CLOSED_OUT", "REPURCHASED"]
        assert result["audit"]["ok"] and result["audit"]["anchors_checked"] >= 1
        # No one called margin on Repo 1: the price fell in the feed's CSV drop, the feed posted it under its own
        # key, and the risk service (its state file says so) called for Fund B under the agreement.
        assert "the risk service calls margin" in demo.stderr
        assert "WebSocket stream: " in demo.stderr  # the call and the service's snapshot, seen live by Fund B
        assert "margin call (the risk service, POST /v1/risk/margin-calls)" in result["gateway_steps"]
        assert "price posting (the price feed's key, POST /v1/risk/feed/prices)" in result["gateway_steps"]
        repo1 = result["repos"][0]
        assert {"MarginCalled", "MarginCallCured"} <= {e["event"] for e in repo1["events"]}
        with sqlite3.connect(data_dir / "risk" / "risk.db") as risk_db:
            sent = risk_db.execute("SELECT repo_id FROM intents WHERE status = 'sent'").fetchall()
        # the same fall called the EUR repo too: netted into the USD agreement through EUR/USD, due on its own;
        # and the GC chapter's repo, between the same two members under the same agreement
        called = {repo_id for (repo_id,) in sent}
        assert {repo1["repo_id"], result["repos"][2]["repo_id"]} <= called and len(called) == 3, called
        assert "the risk service called it on the same fall" in demo.stderr
        assert "margin call (EUR repo, the risk service, POST /v1/risk/margin-calls)" in result["gateway_steps"]
        reports = list((data_dir / "reports").glob("stress-*-b.json"))
        assert len(reports) == 1 and len(json.loads(reports[0].read_text())["scenarios"]) == 3
        assert "stress report written to" in demo.stderr
        # The report files for the demo's repos validate against the shipped schema, and both sides reconcile.
        assert "Regulatory reports (SFTR)" in demo.stderr
        sftr = result["reports"]
        assert sftr["files"] and sftr["records"] >= 3 and sftr["breaks"] == 0, sftr
        for file in sftr["files"]:
            assert validation_errors(Path(file).read_bytes()) == [], file

        # The demo's balances, read again from the chain over JSON-RPC, and what the story implies.
        state = json.loads((data_dir / "state.json").read_text())
        tokens = {t["symbol"]: t["address"] for t in [*state["cash_tokens"], *state["bonds"]]}
        # The node requires a JSON-RPC token: the operator's own (admin.token) reads; the gateway's cannot administer.
        operator_token = (data_dir / "node" / "admin.token").read_text().strip()
        w3 = connect(f"http://127.0.0.1:{rpc_port}", token=operator_token)
        anonymous = httpx.post(
            f"http://127.0.0.1:{rpc_port}", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
        )
        assert anonymous.status_code == 401
        env = dict(line.split("=", 1) for line in (data_dir / "gateway.env").read_text().splitlines() if "=" in line)
        refused = httpx.post(
            f"http://127.0.0.1:{rpc_port}",
            json={"jsonrpc": "2.0", "id": 1, "method": "reponet_setAccountRules", "params": ["0x" + "00" * 20]},
            headers={"Authorization": f"Bearer {env['REPONET_CHAIN_RPC_TOKEN']}"},
        ).json()
        assert refused["error"]["code"] == -40100, refused
        # Least privilege on the real node: no chain key in the gateway's env administers anything, nor does the
        # operator key after the hand-over (the same check as test_least_privilege, on our node and permissioning).
        from eth_account import Account

        from contracts.governance import Governance, admin_powers, roles_held
        from gateway.datadir import UpState
        from gateway.ops.targets import SYSTEM_ARTIFACTS, token_targets

        up_state = UpState.from_json(state)
        targets = [(n, up_state.contracts[k]) for k, n in SYSTEM_ARTIFACTS.items()]
        targets += token_targets(up_state.cash_tokens, up_state.bonds)
        gov = Governance(
            admin_multisig=w3.to_checksum_address(up_state.contracts["admin_multisig"]),
            admin_manager=w3.to_checksum_address(up_state.contracts["admin_manager"]),
        )
        chain_keys = [v for k, v in env.items() if k.endswith("_KEY") and v.startswith("0x")]
        assert len(chain_keys) >= 5
        for key in chain_keys:
            assert admin_powers(w3, gov, targets, Account.from_key(key).address) == []
        assert roles_held(w3, targets, up_state.operator_address) == []
        assert admin_powers(w3, gov, targets, up_state.operator_address) == []
        assert (data_dir / "secrets" / "operator.key").read_text().strip() not in env.values()
        members = {name: m for name, m in result["members"].items() if not name.startswith("repo engine")}
        bank_a = next(m for n, m in members.items() if n.startswith("Bank A"))
        fund_b = next(m for n, m in members.items() if n.startswith("Fund B"))
        for member in members.values():
            for symbol, units in member["balances"].items():
                assert _balance(w3, tokens[symbol], member["address"]) == int(units), (member, symbol)
        usd = lambda amount: to_units(amount, 6)  # noqa: E731
        a_cash, b_cash = (_balance(w3, tokens["rUSD"], m["address"]) for m in (bank_a, fund_b))
        from contracts.deploy import contract

        engine_abi = contract(w3, "RepoEngine", state["contracts"]["repo_engine"])
        coupons = engine_abi.events.CouponManufactured().get_logs(from_block=0)
        assert [(c["args"]["to"].lower(), c["args"]["appliedToRepurchasePrice"]) for c in coupons] == [
            (bank_a["address"].lower(), False)
        ]  # the coupon during the GOV32 repo reached the seller
        coupon = int(coupons[0]["args"]["amount"])
        assert coupon > 0
        assert a_cash + b_cash == usd("15050000") + coupon  # cash moved between the two, plus the paying agent's coupon
        interest = b_cash - usd("10500000")  # Fund B lent 9.5m and got back the repurchase price
        assert 0 < interest < usd("100")  # seconds of interest at 3.10% on 9.5m
        # 10.5m issued at the start and 1m for the EUR repo: all back, collateral and margin
        assert _balance(w3, tokens["GOV32"], bank_a["address"]) == usd("11500000")
        # The EUR repo against the USD bond: opened, margined (the bond's fall valued through USD/EUR), repurchased
        eur_repo = result["repos"][2]
        assert [e["event"] for e in eur_repo["events"]][:1] == ["RepoOpened"]
        assert {"MarginCalled", "MarginPosted", "MarginCallCured", "RepoRepurchased"} <= {
            e["event"] for e in eur_repo["events"]
        }
        opened = engine_abi.events.RepoOpened().get_logs(
            from_block=0, argument_filters={"repoId": eur_repo["repo_id"]}
        )[0]["args"]
        assert opened["cashToken"].lower() == tokens["rEUR"].lower()
        assert opened["collateralToken"].lower() == tokens["GOV32"].lower()
        a_eur, b_eur = (_balance(w3, tokens["rEUR"], m["address"]) for m in (bank_a, fund_b))
        assert a_eur + b_eur == usd("1050000")  # EUR moved between the two only
        assert 0 < b_eur - usd("1000000") < usd("100")  # Fund B lent 830k EUR and got back the repurchase price
        assert _balance(w3, tokens["GOV32"], fund_b["address"]) == 0
        corp_a = _balance(w3, tokens["CORP30"], bank_a["address"])
        corp_b = _balance(w3, tokens["CORP30"], fund_b["address"])
        assert corp_a + corp_b == usd("5000000")
        assert usd("4500000") <= corp_b < usd("4500100")  # what was owed at price 100, no more
        engine = state["contracts"]["repo_engine"]
        # the one repo still live is the GC chapter's (a week's term): the escrow holds its collateral and nothing else
        settled = engine_abi.events.GcFillSettled().get_logs(from_block=0)
        assert len(settled) == 1
        gc_repo = engine_abi.functions.getRepo(settled[0]["args"]["repoId"]).call()
        gc_token, gc_collateral = gc_repo[3], gc_repo[17]  # IRepoEngine.Repo: collateralToken, collateralAmount
        assert gc_token.lower() == tokens["GOV32"].lower() and gc_collateral > 0
        assert {s: _balance(w3, tokens[s], engine) for s in tokens} == {
            s: gc_collateral if s == "GOV32" else 0 for s in tokens
        }

        status = subprocess.run(
            [*REPONET, "--json", "status", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert json.loads(status.stdout)["gateway"]["status"] == "ready"

        # Operator commands on the same network.
        def reponet(*command: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*REPONET, *command, "--data-dir", str(data_dir), "--json"],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=ROOT,
            )

        assert reponet("price", "post", "--bond", "GOV32", "--price-percent-of-par", "101.5").returncode == 0
        bonds = json.loads(reponet("bond", "list").stdout)["data"]
        assert next(b for b in bonds if b["symbol"] == "GOV32")["price_percent_of_par"] == "101.5000"
        issued = reponet("cash", "issue", "--to", bank_a["address"], "--amount", "1.25")
        assert issued.returncode == 0, issued.stdout
        bank_a["balances"]["rUSD"] = str(int(bank_a["balances"]["rUSD"]) + usd("1.25"))
        assert _balance(w3, tokens["rUSD"], bank_a["address"]) == int(bank_a["balances"]["rUSD"])
        shown = json.loads(reponet("wallet", "show", bank_a["address"]).stdout)
        assert shown["verified"] and shown["balances"]["GOV32"] == "11500000.000000"
        assert (
            reponet("cash", "redeem", "--holder", bank_a["address"], "--amount", "1").returncode == ExitStatus.REFUSED
        )  # no allowance
        assert (
            reponet("cash", "issue", "--to", "0x" + "de" * 20, "--amount", "1").returncode == ExitStatus.CHAIN_FAILED
        )  # not verified
        assert reponet("kyc", "approve", "00000000-0000-0000-0000-000000000000").returncode == ExitStatus.REFUSED
        # The gateway's own commands, with the settings `reponet env` loads.
        cli = " ".join([*REPONET])
        verify = subprocess.run(
            ["bash", "-c", f'eval "$({cli} env --data-dir {data_dir})" && {cli} --json audit verify --chain'],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert json.loads(verify.stdout)["anchors_checked"] >= 1

        assert up.interrupt() == 0
        assert "stopped match, surveillance, feed, risk, gateway, node" in up.output()
        assert not (data_dir / "run.json").exists()
    finally:
        up.kill()

    again = UpProcess(data_dir, rpc_port, port, tmp_path / "up-2.log")
    try:
        again.wait_ready()
        second = again.output()
        assert "(resuming)" in second
        assert "One-time password:" not in second  # shown once
        assert json.loads((data_dir / "state.json").read_text())["contracts"] == state["contracts"]
        w3 = connect(f"http://127.0.0.1:{rpc_port}", token=(data_dir / "node" / "admin.token").read_text().strip())
        for member in members.values():
            for symbol, units in member["balances"].items():
                assert _balance(w3, tokens[symbol], member["address"]) == int(units)
        kyc = subprocess.run(
            [*REPONET, "--json", "kyc", "list", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert kyc.returncode == 0, kyc.stdout + kyc.stderr
        assert sum(a["status"] == "approved" for a in json.loads(kyc.stdout)["data"]) == 2
        # The network stays usable: a second story on it, this time entirely over JSON-RPC.
        second_demo = subprocess.run(
            [
                *REPONET,
                "demo",
                "--json",
                "--chain-only",
                "--data-dir",
                str(data_dir),
                "--maturity-seconds",
                "20",
                "--default-seconds",
                "6",
            ],
            capture_output=True,
            text=True,
            timeout=DEMO_SECONDS,
            cwd=ROOT,
        )
        assert second_demo.returncode == 0, second_demo.stderr[-4000:]
        second_result = json.loads(second_demo.stdout.strip().splitlines()[-1])
        assert [r["status"] for r in second_result["repos"]] == ["REPURCHASED", "CLOSED_OUT", "REPURCHASED"]
        assert second_result["tag"] != result["tag"] and not second_result["gateway_steps"]
        # Compliance revokes the first Bank A: its wallets stop being verified on chain.
        applications = json.loads(kyc.stdout)["data"]
        org_a = next(
            a["organization_id"]
            for a in applications
            if a["legal_name"].startswith("Bank A") and result["tag"] in a["legal_name"]
        )
        revoke = subprocess.run(
            [*REPONET, "kyc", "revoke", org_a, "--reason", "e2e", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert revoke.returncode == 0, revoke.stdout + revoke.stderr
        shown = subprocess.run(
            [*REPONET, "--json", "wallet", "show", bank_a["address"], "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert json.loads(shown.stdout)["verified"] is False
        assert again.interrupt() == 0
    finally:
        again.kill()
    assert Decimal(interest) > 0
