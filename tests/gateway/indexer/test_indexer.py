"""The inbox (the indexer) against a fake engine node: an engine event becomes one ``repo_events`` row and the
repo's state (read by field name) one ``repos`` row; the cursor commits with them, so a tick after a restart, or
the same range read again, applies nothing twice. The fake node honours the seam's guard: the indexer's chain
reads happen outside its database transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_account import Account
from eth_utils.abi import function_abi_to_4byte_selector
from eth_utils.address import to_checksum_address
from sqlalchemy import select

from contracts.artifacts import load_artifact
from gateway.chain.bindings.engine import repo_components, snake_case
from gateway.chain.calls import event_topic
from gateway.db.models import AuditEntry
from gateway.indexer.service import CURSOR, Indexer
from gateway.settlement.market import Market
from gateway.settlement_records.models import IndexerCursor, RepoEvent, RepoRecord
from tests.gateway.conftest import World
from tests.gateway.fakechain import FakeNode, fake_web3
from tests.gateway.market import BOND, CASH, ENGINE, market_world

SELLER = to_checksum_address("0x" + "5e" * 20)
BUYER = to_checksum_address("0x" + "b0" * 20)
CAROL = to_checksum_address("0x" + "ca" * 20)
POSITION = to_checksum_address("0x" + "90" * 20)
LEDGER = to_checksum_address("0x" + "5f" * 20)  # the engine's shortfall ledger: its events are the repos' too
ENGINE_ABI: list[dict[str, Any]] = list(load_artifact("RepoEngine").abi)


def _abi_type(param: dict[str, Any]) -> str:
    if str(param["type"]).startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")"
    return str(param["type"])


def _function(name: str) -> dict[str, Any]:
    return next(e for e in ENGINE_ABI if e.get("type") == "function" and e["name"] == name)


class EngineNode(FakeNode):
    """Serves one repo opened in block 5: its ``RepoOpened`` log, its struct, its position's owner."""

    def __init__(self) -> None:
        super().__init__()
        self.block = 7
        self.repo: dict[str, Any] = {snake_case(str(c["name"])): 0 for c in repo_components()}
        self.repo.update(
            seller=SELLER, buyer=BUYER, cash_token=CASH, collateral_token=BOND, purchase_price=1_000_000,
            rate=-2 * 10**16, day_count_basis=360, haircut_bps=200, status=1, opened_at=1_700_000_000,
            maturity=1_700_086_400, period_start=1_700_000_000, collateral_amount=1_100_000, min_transfer_amount=5,
        )  # fmt: skip
        self.selectors = {
            function_abi_to_4byte_selector(_function(name)).hex(): name  # type: ignore[arg-type]
            for name in ("getRepo", "position", "shortfallOf", "shortfallLedger")
        }
        self.log_sources: list[Any] = []  # the ``address`` of each eth_getLogs query
        self.holder = BUYER  # the position's owner (the engine's getRepo buyer follows it)
        self.later: list[tuple[str, dict[str, Any]]] = []  # further events of repo 1, each in its own block from 6

    def _log(self, name: str = "RepoOpened", values: dict[str, Any] | None = None, block: int = 5) -> dict[str, Any]:
        event = next(e for e in ENGINE_ABI if e.get("type") == "event" and e["name"] == name)
        values = values or {
            "repoId": 1, "seller": SELLER, "buyer": BUYER, "termsHash": b"\x07" * 32, "cashToken": CASH,
            "purchasePrice": 1_000_000, "collateralToken": BOND, "collateralAmount": 1_100_000, "rate": -2 * 10**16,
            "maturity": 1_700_086_400,
        }  # fmt: skip
        indexed = [i for i in event["inputs"] if i["indexed"]]
        plain = [i for i in event["inputs"] if not i["indexed"]]
        topics = ["0x" + event_topic(event).hex()] + [
            "0x" + encode([str(i["type"])], [values[str(i["name"])]]).hex() for i in indexed
        ]
        data = encode([str(i["type"]) for i in plain], [values[str(i["name"])] for i in plain])
        return {
            "address": ENGINE, "topics": topics, "data": "0x" + data.hex(), "blockNumber": hex(block),
            "blockHash": "0x" + f"{block:02x}" * 32, "logIndex": "0x0",
            "transactionHash": "0x" + f"{block + 0x70:02x}" * 32, "transactionIndex": "0x0", "removed": False,
        }  # fmt: skip

    def _answer(self, method: str, params: Any) -> dict[str, Any]:
        if method == "eth_getLogs":
            query = params[0]
            self.log_sources.append(query["address"])
            start, end = int(query["fromBlock"], 16), int(query["toBlock"], 16)
            logs = [self._log()] + [self._log(n, v, 6 + i) for i, (n, v) in enumerate(self.later)]
            return {"result": [log for log in logs if start <= int(log["blockNumber"], 16) <= end]}
        if method == "eth_getBlockByNumber":
            number = int(params[0], 16)
            return {
                "result": {
                    "number": hex(number),
                    "hash": "0x" + f"{number:064x}",
                    "parentHash": "0x" + "00" * 32,
                    "timestamp": hex(1_700_000_000 + number),
                    "transactions": [],
                    "gasLimit": "0x0",
                    "gasUsed": "0x0",
                    "miner": "0x" + "00" * 20,
                    "extraData": "0x",
                    "difficulty": "0x0",
                    "nonce": "0x" + "00" * 8,
                }
            }
        if method == "eth_call":
            data = str(params[0]["data"]).removeprefix("0x")
            name = self.selectors.get(data[:8])
            if name == "getRepo":
                struct = tuple(self.repo[snake_case(str(c["name"]))] for c in repo_components())
                return {"result": "0x" + encode([_abi_type(_function("getRepo")["outputs"][0])], [struct]).hex()}
            if name == "position":
                return {"result": "0x" + encode(["address"], [POSITION]).hex()}
            if name == "shortfallOf":
                return {"result": "0x" + encode(["uint256"], [0]).hex()}
            if name == "shortfallLedger":
                return {"result": "0x" + encode(["address"], [LEDGER]).hex()}
            if data.startswith("6352211e"):  # ownerOf(uint256) of the position
                return {"result": "0x" + encode(["address"], [self.holder]).hex()}
        return super()._answer(method, params)


@pytest.fixture
def inbox(tmp_path: Path, db_url: str) -> Iterator[tuple[World, EngineNode, Indexer]]:
    node = EngineNode()
    market = Market(fake_web3(node), engine=ENGINE, oracle="0x" + "0c" * 20, relayer=Account.create())
    for world in market_world(tmp_path, db_url):
        yield world, node, Indexer(market, world.ctx.sessions)


def test_an_engine_event_becomes_one_event_row_and_the_repos_state_by_name(
    inbox: tuple[World, EngineNode, Indexer],
) -> None:
    world, node, indexer = inbox
    assert indexer.run_once() == 1
    sources = [sorted(a.lower() for a in q) for q in node.log_sources]
    assert sources == [sorted([ENGINE.lower(), LEDGER.lower(), POSITION.lower()])]
    with world.ctx.read_sessions() as session:
        events = list(session.scalars(select(RepoEvent)))
        record = session.get(RepoRecord, 1)
        cursor = session.get(IndexerCursor, CURSOR)
    assert [(e.name, e.repo_id, e.block_number, e.block_time) for e in events] == [("RepoOpened", 1, 5, 1_700_000_005)]
    assert events[0].args["purchasePrice"] == "1000000" and events[0].args["rate"] == str(-2 * 10**16)
    assert record is not None and cursor is not None and cursor.last_block == 7
    assert (record.seller, record.holder, record.status) == (SELLER, BUYER, "open")
    assert (record.haircut_bps, record.day_count_basis, record.collateral_amount) == (200, 360, "1100000")
    assert (record.rate, record.min_transfer_amount, record.maturity) == (str(-2 * 10**16), "5", 1_700_086_400)


def test_a_range_read_again_applies_nothing_twice(inbox: tuple[World, EngineNode, Indexer]) -> None:
    world, node, indexer = inbox
    indexer.run_once()
    assert indexer.run_once() == 0  # nothing new: the cursor is at the head
    with world.ctx.sessions() as session:  # a restart from an older cursor (say, a restored backup)
        row = session.get(IndexerCursor, CURSOR)
        assert row is not None
        row.last_block = 2
        session.commit()
    node.block = 9
    indexer.run_once()
    with world.ctx.read_sessions() as session:
        assert len(list(session.scalars(select(RepoEvent)))) == 1
        cursor = session.get(IndexerCursor, CURSOR)
        assert cursor is not None and cursor.last_block == 9


def test_the_original_buyer_comes_from_repo_opened_not_from_the_holder_word(
    inbox: tuple[World, EngineNode, Indexer],
) -> None:
    """The engine's ``getRepo().buyer`` is the position's current holder: when the position moved within the range
    the indexer reads, the record's buyer is still the lender of ``RepoOpened``, and a later reconcile keeps it."""
    world, node, indexer = inbox
    node.holder = CAROL
    node.repo["buyer"] = CAROL
    indexer.run_once()
    indexer.reconcile(1)
    with world.ctx.read_sessions() as session:
        record = session.get(RepoRecord, 1)
    assert record is not None
    assert (record.buyer, record.holder) == (BUYER, CAROL)


def test_a_termination_notice_final_on_chain_reaches_the_audit_chain_and_the_surveillance_feed(
    inbox: tuple[World, EngineNode, Indexer],
) -> None:
    """A self-held party sends its own termination: the gateway never saw it asked, so the notice as indexed is what
    surveillance's rapid open-and-close rule sees (``repo.termination_noticed`` under the repo's id)."""
    world, node, indexer = inbox
    node.later = [("RepoTerminationNoticed", {"repoId": 1, "by": SELLER, "maturity": 1_700_000_900})]
    indexer.run_once()
    with world.ctx.read_sessions() as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.object_type == "repo")))
    assert [(e.action, e.object_id, e.actor) for e in entries] == [("repo.termination_noticed", "1", "system:indexer")]
