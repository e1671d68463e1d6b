"""The load generator of ``bench_gateway.py``: it runs in processes of its own (spawned), so that the clients'
Python never shares an interpreter lock with the gateway, and speaks HTTPS with the standard library's client —
one keep-alive connection per thread, a fraction of httpx's CPU per request — so that on two cores the load
generator does not become what is measured.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Target:
    """Where the gateway listens and how to trust its self-signed certificate (picklable for spawned workers)."""

    base: str
    cafile: str

    def connect(self) -> http.client.HTTPSConnection:
        url = urlsplit(self.base)
        context = ssl.create_default_context(cafile=self.cafile)
        return http.client.HTTPSConnection(url.hostname or "127.0.0.1", url.port, timeout=120, context=context)


@dataclass
class LoadResult:
    """Answers per path: latencies (ms) of 200s, and every other status or transport failure as an error."""

    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def merged(cls, parts: list[LoadResult]) -> LoadResult:
        out = cls(seconds=sum(p.seconds for p in parts))
        for part in parts:
            for path, values in part.latencies.items():
                out.latencies.setdefault(path, []).extend(values)
            for path, failures in part.errors.items():
                out.errors.setdefault(path, []).extend(failures)
        return out

    def summary(self) -> dict[str, Any]:
        everything = [v for values in self.latencies.values() for v in values]
        errors = sum(len(e) for e in self.errors.values())
        out: dict[str, Any] = {
            "rps": round(len(everything) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(percentile(everything, 50), 1),
            "p99_ms": round(percentile(everything, 99), 1),
            "requests": len(everything),
            "errors": errors,
        }
        samples = [e for values in self.errors.values() for e in values[:2]][:4]
        if samples:
            out["error_samples"] = samples
        return out


def read_load(
    target: Target, paths: list[str], headers: dict[str, str], clients: int, seconds: float, stop: Any = None
) -> LoadResult:
    """``clients`` threads GET ``paths`` in turn (each thread starts at a different one) for ``seconds``, or
    until ``stop`` (a multiprocessing Event) is set."""
    result = LoadResult(latencies={p: [] for p in paths}, errors={p: [] for p in paths})
    lock = threading.Lock()
    began = time.perf_counter()
    deadline = began + seconds
    stopped = threading.Event()  # the shared ``stop`` is asked by one thread, not by every request

    def watch() -> None:
        while not stopped.is_set() and time.perf_counter() < deadline:
            if stop is not None and stop.is_set():
                stopped.set()
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()

    def reader(offset: int) -> None:
        latencies: dict[str, list[float]] = {p: [] for p in paths}
        errors: dict[str, list[str]] = {p: [] for p in paths}
        connection = target.connect()
        turn = offset
        while time.perf_counter() < deadline and not stopped.is_set():
            path = paths[turn % len(paths)]
            turn += 1
            start = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                errors[path].append(f"{path}: {type(exc).__name__} {exc}")
                connection.close()
                connection = target.connect()
                continue
            if response.status == 200:
                latencies[path].append((time.perf_counter() - start) * 1000)
            else:
                errors[path].append(f"{path}: {response.status} {body[:200]!r}")
        connection.close()
        with lock:
            for p in paths:
                result.latencies[p].extend(latencies[p])
                result.errors[p].extend(errors[p])

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - began
    stopped.set()
    return result


class Client:
    """JSON over one keep-alive connection per thread."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._local = threading.local()

    def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self.target.connect()
        payload = None if body is None else json.dumps(body).encode()
        sent = dict(headers)
        if payload is not None:
            sent["Content-Type"] = "application/json"
        if method == "POST":
            sent["Idempotency-Key"] = f"bench-{time.time_ns()}-{threading.get_ident()}"
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None


PHASES = ("create", "sign_first", "sign_second", "settle")


def open_one(client: Client, terms: dict[str, Any], ha: dict[str, str], hb: dict[str, str]) -> dict[str, float]:
    """One repo through the API: direct terms, both custodial signatures, wait until final; milliseconds of each
    phase (``PHASES``: the three API requests, then relayer, node and indexer until final) and ``total``."""
    marks = [time.perf_counter()]
    status, trade = client.request("POST", "/v1/trades", ha, terms)
    if status != 201:
        raise RuntimeError(f"POST /v1/trades: {status} {trade}")
    marks.append(time.perf_counter())
    signed: Any = None
    for headers in (ha, hb):
        status, signed = client.request("POST", f"/v1/trades/{trade['id']}/sign", headers)
        if status != 200:
            raise RuntimeError(f"sign: {status} {signed}")
        marks.append(time.perf_counter())
    settlement_id = signed["trade"]["settlement_id"]
    for _ in range(3):  # the wait is bounded at 60 s a call
        status, done = client.request("GET", f"/v1/settlements/{settlement_id}/wait?timeout=60", ha)
        if status != 200 or done["status"] != "pending":
            break
    if status != 200 or done["status"] != "final":
        raise RuntimeError(f"settlement {settlement_id}: {status} {done}")
    marks.append(time.perf_counter())
    out = {name: (marks[i + 1] - marks[i]) * 1000 for i, name in enumerate(PHASES)}
    out["total"] = (marks[-1] - marks[0]) * 1000
    return out


@dataclass
class OpenResult:
    """Opens made by one or more ``open_load`` calls: each open's phase timings (ms), the failures, wall time."""

    clients: int
    seconds: float = 0.0
    timings: list[dict[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def merged(cls, parts: list[OpenResult]) -> OpenResult:
        """Rounds taken apart in time (alone and under load in turn, so that both see the same machine) as one."""
        return cls(
            clients=parts[0].clients,
            seconds=sum(p.seconds for p in parts),
            timings=[t for p in parts for t in p.timings],
            errors=[e for p in parts for e in p.errors],
        )

    def summary(self) -> dict[str, Any]:
        latencies = [t["total"] for t in self.timings]
        out: dict[str, Any] = {
            "opens": len(latencies),
            "clients": self.clients,
            "opens_per_s": round(len(latencies) / self.seconds, 2) if self.seconds else 0.0,
            "p50_ms": round(percentile(latencies, 50), 1),
            "p99_ms": round(percentile(latencies, 99), 1),
            "errors": len(self.errors),
            # where an open's time goes: the median of each phase (the API's three requests, then settlement)
            **{f"{name}_p50_ms": round(percentile([t[name] for t in self.timings], 50), 1) for name in PHASES},
        }
        if self.errors:
            out["error_samples"] = self.errors[:3]
        return out


def open_load(
    target: Target, terms: dict[str, Any], ha: dict[str, str], hb: dict[str, str], clients: int, opens: int
) -> OpenResult:
    """``opens`` repos by ``clients`` concurrent clients."""
    from concurrent.futures import ThreadPoolExecutor

    client = Client(target)
    result = OpenResult(clients=clients)

    def attempt(_: int) -> dict[str, float] | None:
        try:
            return open_one(client, terms, ha, hb)
        except (RuntimeError, OSError, http.client.HTTPException) as exc:
            result.errors.append(str(exc)[:300])
            client._local.connection = None  # a fresh connection for the next open of this thread
            return None

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        result.timings = [v for v in pool.map(attempt, range(opens)) if v is not None]
    result.seconds = time.perf_counter() - began
    return result
