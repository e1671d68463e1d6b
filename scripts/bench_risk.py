#!/usr/bin/env python3
"""Benchmark the risk service on our node: ``reponet up`` in a temporary directory, M members onboarded the way
the demo does it (KYC approved, custodial wallets funded), N repos opened through the gateway over ordered pairs of
members (each member borrows from K others), every pair under an effective agreement with the lender's standing
instruction, and each member's risk-service key granted with ``reponet risk grant``. One in ten pairs is weaker
collateralized (1,030 bond units for 1,000 cash instead of 1,100, 2% haircut): a move of the price from 100 to 97
puts exactly those repos over threshold + minimum transfer.

Measured: the time from the price update (the operator's POST) to every resulting margin call final on chain
(``MarginCalled`` logs), with its parts (price final on chain, first call accepted); the risk service's CPU per
repo revalued in a full tick (its REST reads included) and the gateway's CPU serving those reads; and the valuation
alone (exposure, netting, decision) over the same N repos. The service is ``gateway.risk.watcher.Watcher``, the
code ``reponet risk`` runs, here in the benchmark's process at ``--interval``, holding its members' risk leases and
sending their tokens with its calls as ``reponet risk`` does.

    .venv/bin/python scripts/bench_risk.py --repos 100 --members 4 --json     # a smaller run first
    .venv/bin/python scripts/bench_risk.py --json                             # 1,000 repos over 20 members
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gateway import Network, workdir  # noqa: E402
from bench_load import Client, Target, open_one  # noqa: E402

PURCHASE, STRONG, WEAK = "1000", "1100", "1030"
PRICE_BEFORE, PRICE_AFTER = "100", "97"
CALL_TIMEOUT = 120.0
LEASE_TIMEOUT = 30.0
ONBOARDING_AT_ONCE = 5  # members onboarded side by side (each mostly waits for a fresh TOTP window)


@dataclass
class Member:
    key: str
    name: str
    org_id: str
    admin_email: str
    session: Any  # gateway.ops.client.UserSession of the treasurer (approver: trades and agreements)
    custodial: str
    wallet_id: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Pair:
    borrower: Member
    lender: Member
    weak: bool
    repos: list[int] = field(default_factory=list)


class Setup:
    """Members, funding, repos and agreements through the gateway, as a user of ``reponet up`` would."""

    def __init__(self, data_dir: Path, members: int, per_member: int) -> None:
        from rich.console import Console

        from gateway.demo.story import Story
        from gateway.ops.network import COMPLIANCE_USER, OPS_USER
        from gateway.ops.network import Network as OpsNetwork

        self.net = OpsNetwork(data_dir)
        self.story = Story(self.net, Console(file=io.StringIO()))
        self.ops, self.compliance = self.net.session(OPS_USER), self.net.session(COMPLIANCE_USER)
        self.story.ops = self.ops
        self.story.gateway_trading = True
        with ThreadPoolExecutor(max_workers=ONBOARDING_AT_ONCE) as pool:  # each waits for its people's TOTP steps
            self.members = list(pool.map(self._onboard, range(members)))
        for member in self.members:  # after the gateway's settlements: the issuer's nonces are the relayer's too
            self._mint_bonds(member.custodial)
        self.pairs = [
            Pair(self.members[i], self.members[(i + k) % members], weak=False)
            for k in range(1, per_member + 1)
            for i in range(members)
        ]
        for n, pair in enumerate(self.pairs):
            pair.weak = n % 10 == 9 or (len(self.pairs) < 10 and n == 0)
        self.target = Target(self.net.gateway_url, str(self.net.dir.tls_cert))

    def _onboard(self, i: int) -> Member:
        from gateway.demo.onboarding import join
        from gateway.members.validation import lei_with_check_digits

        s, tag = self.story, self.story.tag
        name = f"Risk bench {i:02d} ({tag})"
        lei = lei_with_check_digits(f"RB{tag}{i:04d}".ljust(18, "0"))
        org = self.ops.post("/v1/organizations", body={"name": name, "lei": lei, "jurisdiction": "GB"})
        admin_email = f"admin-{i}-{tag.lower()}@bench.example"
        admin = join(s, self.ops, org["id"], admin_email, f"Admin {i}", "member_admin")
        session = join(s, admin, org["id"], f"treasury-{i}-{tag.lower()}@bench.example", f"Treasurer {i}", "approver")
        custodial = session.post("/v1/wallets", body={"label": "custody"})
        application = session.post(
            "/v1/kyc/applications",
            body={
                "legal_name": name,
                "lei": lei,
                "jurisdiction": "GB",
                "registered_address": f"{i + 1} Bench Street, London",
                "investor_class": 1,
                "beneficial_owners": [{"name": f"{name} Holdings", "ownership_percent": 100, "nationality": "GB"}],
                "documents": [{"kind": "certificate_of_incorporation", "sha256": f"{i:064x}"}],
            },
        )
        for hit in application.get("hits", []):
            self.compliance.post(
                f"/v1/kyc/applications/{application['id']}/hits/{hit['id']}/decision",
                body={"decision": "false_positive", "note": "bench"},
            )
        decided = self.compliance.post(
            f"/v1/kyc/applications/{application['id']}/decision", body={"approve": True, "note": "bench"}
        )
        if decided.get("settlement_id"):
            s.settle({"id": decided["settlement_id"], "status": "pending"}, f"{name}: registration", self.compliance)
        issue = {"token": s.cash.address, "wallet": custodial["address"], "amount": "100000000"}
        s.settle(self.ops.post("/v1/operator/cash/issue", body=issue), "cash issue")
        session.step_up()  # signing needs a recent TOTP; the bench's bearer tokens share the login session
        return Member(
            key=str(i),
            name=name,
            org_id=str(org["id"]),
            admin_email=admin_email,
            session=session,
            custodial=str(custodial["address"]),
            wallet_id=str(custodial["id"]),
            headers={"Authorization": f"Bearer {session.creds.access_token}"},
        )

    def _mint_bonds(self, wallet: str) -> None:
        from gateway.ops.chain import send, to_units

        s = self.story
        send(s.w3, s.issuer, s.tok(s.gov).functions.mint(wallet, to_units("100000000", s.gov.decimals)), "mint bonds")

    def terms(self, pair: Pair) -> dict[str, Any]:
        return {
            "role": "seller",
            "wallet_id": pair.borrower.wallet_id,
            "counterparty_wallet": pair.lender.custodial,
            "cash_token": self.story.cash.address,
            "collateral_token": self.story.gov.address,
            "purchase_price": PURCHASE,
            "collateral_amount": WEAK if pair.weak else STRONG,
            "rate_fraction": "0.035",
            "haircut_bps": 200,
            "min_transfer_amount": "1",
            "tenor_seconds": 30 * 86_400,
        }

    def open_repos(self, total: int, clients: int) -> dict[str, Any]:
        """``total`` repos round-robin over the pairs; the first of each pair alone (custodial approvals)."""
        client = Client(self.target)
        errors: list[str] = []

        def one(pair: Pair) -> None:
            try:
                open_one(client, self.terms(pair), pair.borrower.headers, pair.lender.headers)
            except (RuntimeError, OSError) as exc:
                errors.append(str(exc)[:300])
                client._local.connection = None

        began = time.perf_counter()
        plan = [self.pairs[n % len(self.pairs)] for n in range(total)]
        first, rest = plan[: len(self.pairs)], plan[len(self.pairs) :]
        for pair in first[: len(self.members)]:
            one(pair)  # each member's wallet approves the engine once, without a race
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(one, first[len(self.members) :] + rest))
        elapsed = time.perf_counter() - began
        return {"opened": total - len(errors), "seconds": round(elapsed, 1), "errors": len(errors),
                "error_samples": errors[:3]}  # fmt: skip

    def agree(self) -> None:
        """One agreement per pair of members (not per direction), both standing instructions on: with few members
        a member lends to the one it borrows from, and a second version would supersede the first."""
        cash = self.story.cash.address
        done: set[frozenset[str]] = set()
        for pair in self.pairs:
            members = frozenset((pair.lender.org_id, pair.borrower.org_id))
            if members in done:
                continue
            done.add(members)
            body = {"counterparty_id": pair.borrower.org_id, "base_currency": cash, "threshold": "0",
                    "minimum_transfer": "1", "rounding": "0", "method": "B", "cure_period_seconds": 3600,
                    "auto_call": True}  # fmt: skip
            proposed = pair.lender.session.post("/v1/risk/agreements", body=body)
            pair.borrower.session.post(f"/v1/risk/agreements/{proposed['id']}/approve", body={"auto_call": True})

    def grant(self, config: Path) -> None:
        """``reponet risk grant`` per member, into the benchmark's own config (``reponet up``'s service stays idle)."""
        up_config = json.loads((self.net.dir.path / "risk" / "config.json").read_text())
        config.write_text(json.dumps({**up_config, "members": []}))
        for m in self.members:
            subprocess.run(
                [sys.executable, "-m", "gateway.cli", "risk", "grant", "--data-dir", str(self.net.dir.path),
                 "--config", str(config), "--member", m.name, "--admin", m.admin_email],
                check=True, cwd=ROOT, capture_output=True, timeout=120,
            )  # fmt: skip


class Ticker:
    """The service's loop with each tick's CPU (this thread's) and wall time recorded; the watcher is built in the
    loop's thread (its SQLite state belongs to one thread, as in ``reponet risk``)."""

    def __init__(self, make: Callable[[], Any], interval: float) -> None:
        self.make = make
        self.interval = interval
        self.ticks: list[tuple[float, float, float]] = []  # (start, wall, cpu)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="risk", daemon=True)

    def _run(self) -> None:
        watcher = self.make()
        try:
            while not self.stop.is_set():
                began, cpu = time.perf_counter(), time.thread_time()
                try:
                    watcher.tick()
                except Exception:  # the service's own loop survives a bad tick the same way
                    logging.getLogger("bench").exception("tick failed")
                self.ticks.append((began, time.perf_counter() - began, time.thread_time() - cpu))
                self.stop.wait(self.interval)
        finally:
            watcher.store.close()


def valuation_alone(repos: list[dict[str, Any]], rounds: int = 20) -> float:
    """CPU milliseconds to value, net and decide N repos (the watcher's arithmetic without its HTTP)."""
    from gateway.risk.exposure import Method, RepoValue, Terms, call_amount, net_by_pair, repo_exposure

    terms = Terms(0, 1_000_000, 1, Method.B)
    began = time.process_time()
    for _ in range(rounds):
        values = []
        for r in repos:
            v = RepoValue(
                int(r["repo_id"]), r["lender"], r["borrower"], int(r["repurchase_price"]), int(r["collateral_amount"]),
                int(r["price"]), int(r["haircut_bps"]), int(r["cash_margin"]),
            )  # fmt: skip
            values.append((v, repo_exposure(v, Method.B)))
        for pair in net_by_pair(values).values():
            call_amount(pair.net, terms)
    return (time.process_time() - began) * 1000 / rounds


class CallsSeen:
    """The repos margin-called since a block, read block by block as the head moves: the bench polls every 50 ms
    and must not load the node it measures (asking for every log since the price, each poll, cost the node a
    second of CPU in a burst)."""

    def __init__(self, setup: Setup, from_block: int) -> None:
        self.setup, self.next_block, self.repos = setup, from_block, set[int]()

    def count(self) -> int:
        head = int(self.setup.story.w3.eth.block_number)
        if head >= self.next_block:
            logs = self.setup.story.engine.events.MarginCalled().get_logs(from_block=self.next_block, to_block=head)
            self.repos.update(int(log["args"]["repoId"]) for log in logs)
            self.next_block = head + 1
        return len(self.repos)


def bench(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import httpx

    from gateway.leases.client import Lease, LeaseGroup
    from gateway.risk.cli import load_members
    from gateway.risk.store import Store
    from gateway.risk.watcher import Watcher

    net = Network(ROOT, work / "net")
    out: dict[str, Any] = {"repos": args.repos, "members": args.members, "pairs_per_member": args.pairs_per_member}
    try:
        began = time.perf_counter()
        setup = Setup(net.data_dir, args.members, args.pairs_per_member)
        setup.story.post_price(setup.story.gov, PRICE_BEFORE)
        out["onboard_seconds"] = round(time.perf_counter() - began, 1)
        out["open"] = setup.open_repos(args.repos, args.clients)
        setup.agree()
        config = work / "risk-config.json"
        setup.grant(config)
        up = json.loads(config.read_text())
        http = httpx.Client(base_url=up["gateway_url"], verify=up["ca_file"], timeout=30)
        members = load_members(config)
        live = [r for m in members for r in http.get("/v1/risk/repos", headers={"X-API-Key": m.api_key}).json()["data"]]
        weak_pairs = {(p.lender.org_id, p.borrower.org_id) for p in setup.pairs if p.weak}
        expected = sum(1 for r in live if (r["lender"], r["borrower"]) in weak_pairs)
        out["live_repos"], out["expected_calls"] = len(live), expected
        out["valuation_alone_ms"] = round(valuation_alone(live), 2)

        # the service's writes carry its members' risk-lease tokens, as ``reponet risk`` sends them
        leases = LeaseGroup({m.name: Lease(http, "risk", lambda key=m.api_key: key) for m in members})
        leading = threading.Event()
        timer = threading.Timer(LEASE_TIMEOUT, leading.set)  # ends the wait if another instance holds them
        timer.start()
        if not leases.wait(leading):  # the event then stops the renewals, at the end
            raise RuntimeError("the risk leases are held by another instance")
        timer.cancel()
        ticker = Ticker(lambda: Watcher(http, Store(work / "risk.db"), members, fence=leases.headers), args.interval)
        cpu_before = net.cpu_seconds()
        quiet_by_process = net.cpu_by_process()
        ticker.thread.start()
        time.sleep(args.quiet_seconds)  # steady state: every tick revalues every repo, no call is due
        quiet = list(ticker.ticks)
        cpu_after = net.cpu_seconds()
        after_quiet = net.cpu_by_process()
        out["quiet_cpu_by_process_s"] = {  # what else runs beside the service's ticks (up's own services)
            name: round(after_quiet[name] - quiet_by_process.get(name, 0.0), 2) for name in sorted(after_quiet)
        }
        revalued = len(quiet) * len(live)
        out["steady_ticks"] = len(quiet)
        out["tick_wall_ms_p50"] = round(sorted(t[1] for t in quiet)[len(quiet) // 2] * 1000, 1) if quiet else None
        out["service_cpu_ms_per_tick"] = round(sum(t[2] for t in quiet) * 1000 / max(1, len(quiet)), 1)
        out["service_cpu_us_per_repo"] = round(sum(t[2] for t in quiet) * 1e6 / max(1, revalued), 1)
        gateway_cpu = cpu_after["gateway"] - cpu_before["gateway"]
        out["gateway_cpu_us_per_repo_read"] = round(gateway_cpu * 1e6 / max(1, revalued), 1)

        block = setup.story.w3.eth.block_number
        burst_cpu, burst_by_process = net.cpu_seconds(), net.cpu_by_process()
        t0, t0_wall = time.perf_counter(), time.time()
        setup.story.post_price(setup.story.gov, PRICE_AFTER)  # the operator's POST, waited until final on chain
        out["price_final_s"] = round(time.perf_counter() - t0, 2)
        deadline = t0 + CALL_TIMEOUT
        called, seen = 0, CallsSeen(setup, block)
        while time.perf_counter() < deadline:
            called = seen.count()
            if called >= expected:
                break
            time.sleep(0.05)
        out["all_calls_final_s"] = round(time.perf_counter() - t0, 2) if called >= expected else None
        out["calls_final"] = called
        burst_end = net.cpu_seconds()  # from the price's POST to the last call final: where the CPU went
        out["burst_cpu_s"] = {name: round(burst_end[name] - burst_cpu.get(name, 0.0), 2) for name in burst_end}
        by_process = net.cpu_by_process()  # "node" above is every process under up but the gateway: its parts
        out["burst_cpu_by_process_s"] = {
            name: round(by_process[name] - burst_by_process.get(name, 0.0), 2) for name in sorted(by_process)
        }
        time.sleep(max(2 * args.interval, 1.0))  # nothing more is called: none twice, none extra
        out["calls_final_after_settling"] = CallsSeen(setup, block).count()
        ticker.stop.set()
        ticker.thread.join(timeout=30)
        state = Store(work / "risk.db")
        out["calls_sent"] = sum(1 for i in state.intents() if i.status == "sent")
        first, last = state.db.execute(
            "SELECT MIN(created_at), MAX(sent_at) FROM intents WHERE status = 'sent'"
        ).fetchone()
        if first is not None:  # where the time goes: the price reaching the service, then the calls' POSTs
            out["first_call_intended_s"] = round(first - t0_wall, 2)
            out["last_call_accepted_s"] = round(last - t0_wall, 2)
        state.close()
        out["targets"] = {
            "all_calls_final_within_5s": out["all_calls_final_s"] is not None and out["all_calls_final_s"] <= 5.0,
            "revalue_1000_repos_under_200ms": out["service_cpu_us_per_repo"] * 1000 / 1000 < 200,
        }
        leading.set()
        leases.release()
        http.close()
        setup.net.close()
        return out
    finally:
        net.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repos", type=int, default=1000, help="live repos (N)")
    parser.add_argument("--members", type=int, default=20, help="members (M)")
    parser.add_argument("--pairs-per-member", type=int, default=3, help="lenders each member borrows from (K)")
    parser.add_argument("--clients", type=int, default=6, help="concurrent clients opening repos")
    parser.add_argument("--interval", type=float, default=0.2, help="the service's seconds between ticks")
    parser.add_argument("--quiet-seconds", type=float, default=10.0, help="steady-state ticks measured before the move")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with workdir(args.keep) as work:
        result = bench(args, work)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
