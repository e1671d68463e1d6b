"""docs/asyncapi.json describes the stream as the code sends it: every engine event of a repo, the event's shape."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from contracts.artifacts import load_artifact
from gateway.db.migrate import upgrade
from gateway.db.session import make_engine, make_session_factory
from gateway.indexer import wire
from gateway.indexer.service import Indexer
from gateway.settlement_records.models import RepoEvent

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


def _payload() -> dict[str, object]:
    doc = json.loads(DOC.read_text())
    assert doc["asyncapi"].startswith("3.")
    payload: dict[str, object] = doc["components"]["messages"]["repoEvent"]["payload"]
    return payload


def test_every_repo_event_of_the_engine_is_listed() -> None:
    """The engine's (with its extensions', IRepoMigration and IRepoGcSettlement) and its shortfall ledger's: the
    indexer follows them."""
    indexed = [
        *load_artifact("RepoEngine").abi,
        *load_artifact("IRepoMigration").abi,
        *load_artifact("IRepoGcSettlement").abi,
        *load_artifact("RepoShortfallLedger").abi,
    ]
    of_repos = {
        f"repo.{e['name']}"
        for e in indexed
        if e.get("type") == "event" and any(i["name"] == "repoId" for i in e["inputs"])
    }
    listed = set(_payload()["properties"]["type"]["enum"])  # type: ignore[index]
    assert listed == of_repos | {"repo.PositionTransferred"}  # the position NFT's transfers, followed too


def test_the_event_shape_is_what_the_indexer_publishes(tmp_path: Path) -> None:
    event = RepoEvent(
        id=7,
        repo_id=1,
        name="RepoOpened",
        args={},
        block_number=3,
        block_hash="0x",
        block_time=0,
        log_index=0,
        tx_hash="0x",
    )
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    upgrade(url)
    with make_session_factory(make_engine(url))() as session:
        published = Indexer.public(event, wire.EventUnits(session))
    assert set(published) == set(_payload()["properties"])  # type: ignore[arg-type]
    assert set(published) == set(_payload()["required"])  # type: ignore[arg-type]


def _recording(sent: list[dict[str, Any]]) -> Any:
    """An announcer whose stream appends to ``sent`` and whose webhooks go nowhere."""
    from gateway.trading.announce import Announcer

    class Bus:
        def publish(self, event: dict[str, Any], organizations: object) -> None:
            sent.append(event)

    class NoWebhooks:
        def scalars(self, *_: object) -> list[object]:
            return []

        def commit(self) -> None:
            pass

    return Announcer(Bus(), NoWebhooks())  # type: ignore[arg-type]


def test_market_events_are_described_as_sent() -> None:
    doc = json.loads(DOC.read_text())
    payload = doc["components"]["messages"]["marketEvent"]["payload"]
    sent: list[dict[str, Any]] = []
    _recording(sent).send("rfq.created", {"rfq_id": "x", "status": "open", "requester_id": "y"}, set())  # type: ignore[arg-type]
    assert set(sent[0]) == set(payload["properties"]) == set(payload["required"])
    assert sent[0]["type"] in payload["properties"]["type"]["enum"]


def test_approval_events_are_described_as_sent() -> None:
    from gateway.trading.models import Trade

    doc = json.loads(DOC.read_text())
    payload = doc["components"]["messages"]["approvalEvent"]["payload"]
    sent: list[dict[str, Any]] = []
    trade = Trade(id=uuid.uuid4(), seller_org_id=uuid.uuid4(), buyer_org_id=uuid.uuid4(), status="cancelled")
    announce = _recording(sent)
    announce.trade_rejected(trade, "seller", "over the limit")
    announce.trade_approved(trade, "buyer")
    announce.approval_requested(trade, "seller", {"rule": "large"})
    described = set(payload["properties"]["data"]["properties"])
    for event in sent:
        assert set(event) == set(payload["properties"]) == set(payload["required"])
        assert event["type"] in payload["properties"]["type"]["enum"]
        assert set(event["data"]) <= described and set(payload["properties"]["data"]["required"]) <= set(event["data"])
    assert [e["type"] for e in sent] == ["trade.rejected", "trade.approved", "approval.requested"]


def test_instruction_events_are_described_as_sent() -> None:
    from gateway.settlement.instruction_events import Change, announce
    from gateway.settlement_records.models import Instruction

    doc = json.loads(DOC.read_text())
    payload = doc["components"]["messages"]["instructionEvent"]["payload"]
    sent: list[dict[str, Any]] = []
    instruction = Instruction(id=uuid.uuid4(), repo_id=7, kind="Amendment", status="rejected", required=[])

    class NoParties:
        def get(self, *_: object) -> None:
            return None

        def scalars(self, *_: object) -> list[object]:
            return []

    for change in Change:
        announce(_recording(sent), NoParties(), change, instruction, reason="off-market")  # type: ignore[arg-type]
    described = set(payload["properties"]["data"]["properties"])
    for event in sent:
        assert set(event) == set(payload["properties"]) == set(payload["required"])
        assert event["type"] in payload["properties"]["type"]["enum"]
        assert set(event["data"]) <= described and set(payload["properties"]["data"]["required"]) <= set(event["data"])
    assert [e["type"] for e in sent] == payload["properties"]["type"]["enum"]
