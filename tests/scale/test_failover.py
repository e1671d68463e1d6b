"""Scale-out under failure: two API replicas behind HAProxy (the config ``reponet up --replicas`` writes), two worker
processes (a leader and a standby for every kind), PostgreSQL (a fresh schema, dropped after), Redis (the event
stream and the shared rate limits) and our node.

Under a steady load of repo opens through the balancer (every request retried with its Idempotency-Key until
answered), one API replica is killed with SIGKILL, then the worker that leads the relayer: every open settles exactly
once on chain (no trade, signature, step or repo twice; nothing stuck), the standby leads within 5 s, and a WebSocket
client that was on the killed replica reconnects through the balancer with its cursor and receives every event of
its organization exactly once, in order."""

from __future__ import annotations

import json
import os
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway.leader import WorkerKind
from gateway.orchestrator.replicas import Replica, free_port, haproxy_config
from tests.e2e.chains import DEV_KEY, RELAYER_KEY, ChainProcess, deploy, start_chain
from tests.e2e.test_crash_exactly_once import OPENS, setup_members, verify
from tests.scale.stack import Proc, haproxy_or_skip, pg_schema, redis_or_skip, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(900)]

CLIENTS = 4
TAKEOVER_SECONDS = 5.0
ANSWER_SECONDS = 240.0
KILL_REPLICA_AT, KILL_RELAYER_AT = 6, 14  # state-changing requests begun before each kill
PP, COLLATERAL = 1000, 1100


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    yield from start_chain("reponet-node", tmp_path)


class Api:
    """Requests through the balancer, each retried (same Idempotency-Key) until the gateway answers it for good."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, verify=False, timeout=30)
        self.sent = 0
        self.retries = 0
        self.lock = threading.Lock()

    def post(self, path: str, headers: dict[str, str], key: str, body: Any = None) -> httpx.Response:
        with self.lock:
            self.sent += 1
        return self.send("POST", path, {**headers, "Idempotency-Key": key}, body)

    def send(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> httpx.Response:
        end = time.monotonic() + ANSWER_SECONDS
        while time.monotonic() < end:
            try:
                answer = self.client.request(method, path, headers=headers, json=body)
            except httpx.TransportError:
                with self.lock:
                    self.retries += 1
                time.sleep(0.2)
                continue
            busy = answer.status_code == 409 and answer.json().get("type", "").endswith("/idempotency-in-flight")
            if answer.status_code >= 500 or answer.status_code == 429 or busy:
                with self.lock:
                    self.retries += 1
                time.sleep(0.2)
                continue
            return answer
        pytest.fail(f"{method} {path} not answered within {ANSWER_SECONDS:.0f} s")


class StreamClient:
    """A WebSocket client of one organization: first on a given replica, then, once that connection drops, through
    the balancer again with ``since`` = the last event id it received."""

    def __init__(self, first: str, balancer: str, token: str) -> None:
        self.urls = [first, balancer]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.ids: list[int] = []
        self.reconnects = 0
        self.stop = threading.Event()
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        url = self.urls[0]
        while not self.stop.is_set():
            since = f"?since={self.ids[-1] if self.ids else 0}"
            try:
                with connect(
                    url.replace("https://", "wss://") + "/v1/stream" + since,
                    ssl=context,
                    additional_headers=self.headers,
                    open_timeout=5,
                ) as ws:
                    assert json.loads(ws.recv(timeout=10))["type"] == "subscribed"
                    self.connected.set()
                    while not self.stop.is_set():
                        try:
                            message = json.loads(ws.recv(timeout=0.5))
                        except TimeoutError:
                            continue
                        if message.get("id") is not None:
                            self.ids.append(int(message["id"]))
            except (ConnectionClosed, OSError, TimeoutError):
                pass
            if not self.stop.is_set():
                url = self.urls[1]
                self.reconnects += 1
                time.sleep(0.2)


def test_replica_and_relayer_killed_under_load(chain: ChainProcess, tmp_path: Path) -> None:
    haproxy_or_skip()
    redis_url = redis_or_skip()
    stream = f"test:events:{uuid.uuid4().hex}"
    figures: dict[str, Any] = {}
    with pg_schema() as db_url:
        d = deploy(chain)
        settings = {
            "access_token_seconds": 3600,
            "step_up_seconds": 3600,
            "rate_limit_ip": "1000000/minute",
            "rate_limit_principal": "1000000/minute",
            "chain_id": int(d.w3.eth.chain_id),
        }
        members = setup_members(d, tmp_path, db_url, settings)
        env = {
            **os.environ,
            "REPONET_ENVIRONMENT": "test",
            "REPONET_JWT_SECRET": "t" * 48,
            "REPONET_DATABASE_URL": db_url,
            "REPONET_DATA_DIR": str(tmp_path / "data"),
            "REPONET_MASTER_KEY_FILE": str(tmp_path / "data" / "master-keys.json"),
            "REPONET_ANCHOR_INTERVAL_SECONDS": "0",
            "REPONET_SIWE_DOMAIN": "gateway.test",
            "REPONET_PUBLIC_ORIGIN": "https://gateway.test",
            "REPONET_RATE_LIMIT_IP": "1000000/minute",
            "REPONET_RATE_LIMIT_PRINCIPAL": "1000000/minute",
            "REPONET_RATE_LIMIT_STORAGE_URL": redis_url,
            "REPONET_BROKER_URL": redis_url,
            "REPONET_EVENT_STREAM": stream,
            "REPONET_API_WORKERS": "1",
            "REPONET_CHAIN_RPC_URL": chain.url,
            "REPONET_CHAIN_ID": str(settings["chain_id"]),
            "REPONET_CHAIN_PRIVATE_KEY": DEV_KEY,
            "REPONET_RELAYER_PRIVATE_KEY": RELAYER_KEY,
            "REPONET_REPO_ENGINE_ADDRESS": d.addresses["repo_engine"],
            "REPONET_PRICE_ORACLE_ADDRESS": d.addresses["price_oracle"],
            "REPONET_IDENTITY_REGISTRY_ADDRESS": d.addresses["identity_registry"],
            "REPONET_AUDIT_ANCHOR_ADDRESS": d.addresses["audit_anchor"],
        }
        worker_cmd = [sys.executable, "-m", "gateway.cli", "worker"]
        workers = [Proc(f"worker-{i}", worker_cmd, env, tmp_path / f"worker-{i}.log") for i in (1, 2)]
        replicas = [Replica(f"replica-{i}", "127.0.0.1", free_port("127.0.0.1")) for i in (1, 2)]
        api_env = {**env, "REPONET_BACKGROUND_WORK": "false"}
        serve = [sys.executable, "-m", "gateway.cli", "gateway", "run", "--port"]
        apis = [Proc(r.name, [*serve, str(r.port)], api_env, tmp_path / f"{r.name}.log") for r in replicas]
        balancer_port = free_port("127.0.0.1")
        config = tmp_path / "haproxy.cfg"
        config.write_text(haproxy_config("127.0.0.1", balancer_port, replicas))
        balancer = Proc("balancer", ["haproxy", "-db", "-f", str(config)], env, tmp_path / "balancer.log")
        lb = f"https://127.0.0.1:{balancer_port}"
        everything = [*workers, *apis, balancer]
        ws: StreamClient | None = None
        try:
            workers[0].start()
            every = {k.value for k in WorkerKind}
            wait_until("worker-1 leads every kind", lambda: workers[0].leads() == every, 90)
            workers[1].start()
            wait_until("worker-2 stands by", lambda: "standing for" in workers[1].output(), 90)
            for api_proc, replica in zip(apis, replicas, strict=True):
                api_proc.start()
                wait_until(f"{replica.name} ready", lambda url=replica.url: _ready(url), 90)
            balancer.start()
            wait_until("the balancer answers", lambda: _ready(lb), 30)
            ws = StreamClient(replicas[0].url, lb, members["ha"]["Authorization"].removeprefix("Bearer "))
            ws.thread.start()
            assert ws.connected.wait(30), "the WebSocket client did not connect to replica-1"

            api = Api(lb)
            terms = {
                "role": "seller",
                "wallet_id": members["wa"]["id"],
                "counterparty_wallet": members["wb"]["address"],
                "cash_token": d.addresses["cash"],
                "collateral_token": d.addresses["bond"],
                "purchase_price": str(PP),
                "collateral_amount": str(COLLATERAL),
                "rate": "0.035",
                "haircut_bps": 200,
                "tenor_seconds": 86_400,
            }
            ha, hb = members["ha"], members["hb"]

            def open_one(i: int) -> str:
                created = api.post("/v1/trades", ha, f"trade-{i}", terms)
                assert created.status_code == 201, created.text
                trade_id = created.json()["id"]
                assert api.post(f"/v1/trades/{trade_id}/sign", ha, f"sign-a-{i}").status_code == 200
                buyer = api.post(f"/v1/trades/{trade_id}/sign", hb, f"sign-b-{i}")
                assert buyer.status_code == 200, buyer.text
                return str(buyer.json()["trade"]["settlement_id"])

            done = threading.Event()

            def chaos() -> None:
                while api.sent < KILL_REPLICA_AT and not done.is_set():
                    time.sleep(0.01)
                apis[0].kill()  # the replica the WebSocket client is on
                figures["replica_killed_at_request"] = api.sent
                while api.sent < KILL_RELAYER_AT and not done.is_set():
                    time.sleep(0.01)
                killed = time.monotonic()
                workers[0].kill()  # the leader of every kind, the relayer among them
                figures["relayer_killed_at_request"] = api.sent
                end = killed + 30
                while time.monotonic() < end and "relayer" not in workers[1].leads():
                    time.sleep(0.02)
                figures["relayer_takeover_seconds"] = round(time.monotonic() - killed, 2)

            killer = threading.Thread(target=chaos, daemon=True)
            killer.start()
            with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
                settlement_ids = list(pool.map(open_one, range(OPENS)))
            done.set()
            killer.join(timeout=60)
            assert not killer.is_alive()
            figures["retries"] = api.retries
            blocks: list[int] = []
            for settlement_id in settlement_ids:

                def final(sid: str = settlement_id) -> bool:
                    settlement = api.send("GET", f"/v1/settlements/{sid}", ha).json()
                    assert settlement["status"] != "failed"
                    if settlement["status"] != "final":
                        return False
                    blocks.append(int(settlement["final_block"]))
                    return True

                wait_until(f"settlement {settlement_id} final", final, 180)
            assert len(set(settlement_ids)) == OPENS
            assert figures["relayer_takeover_seconds"] < TAKEOVER_SECONDS, figures
            assert workers[1].leads() == every

            organization = api.send("GET", "/v1/me", ha).json()["organization_id"]
            # final is the relayer's word (the receipt); the events come when the indexer has read those blocks
            wait_until("the indexer has every opening block", lambda: _indexed_block(db_url) >= max(blocks), 60)
            expected = _event_ids(db_url, organization)
            wait_until("the WebSocket client has every event", lambda: set(ws.ids) >= set(expected), 60)
            ws.stop.set()
            ws.thread.join(timeout=10)
            assert ws.ids == expected  # in order, each once, across the move to the other replica
            assert ws.reconnects >= 1
            figures["websocket_events"] = len(ws.ids)
            for proc in everything:
                proc.stop()
            verify(d, db_url, members)
        finally:
            if ws is not None:
                ws.stop.set()
            for proc in reversed(everything):
                proc.stop()
            print("scale failover figures:", json.dumps(figures))
            _drop_stream(redis_url, stream)


def _ready(url: str) -> bool:
    return httpx.get(url + "/readyz", verify=False, timeout=3).status_code == 200


def _indexed_block(db_url: str) -> int:
    from gateway.settlement_records.freshness import indexed_block

    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with Session(engine) as session:
            return indexed_block(session) or -1
    finally:
        engine.dispose()


def _event_ids(db_url: str, organization_id: str) -> list[int]:
    from gateway.settlement_records.models import RepoEvent, RepoRecord

    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            org = uuid.UUID(organization_id)
            repos = sa.select(RepoRecord.repo_id).where(
                sa.or_(RepoRecord.seller_org_id == org, RepoRecord.holder_org_id == org)
            )
            return list(
                conn.scalars(sa.select(RepoEvent.id).where(RepoEvent.repo_id.in_(repos)).order_by(RepoEvent.id))
            )
    finally:
        engine.dispose()


def _drop_stream(url: str, stream: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.delete(stream)
    client.close()
