"""One vocabulary for settlement kinds: substitution and amendment, whatever spelling was stored or is sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from eth_utils.address import to_checksum_address

from gateway.db.models import Role
from gateway.settlement.schemas import SettlementPublic, canonical_kind, kind_spellings
from gateway.settlement_records.models import ChainStep, Settlement, SettlementParty
from tests.gateway.conftest import World


def test_old_spellings_read_as_the_one_vocabulary() -> None:
    for stored, shown in [("amend", "amendment"), ("substitute", "substitution"), ("Amendment", "amendment")]:
        public = SettlementPublic(
            id=uuid.uuid4(),
            kind=stored,
            status="final",
            trade_id=None,
            repo_id=1,
            error=None,
            created_at=datetime.now(UTC),
            finished_at=None,
            steps=[],
        )
        assert public.kind == shown
    assert canonical_kind("open") == "open"


def test_a_filter_in_either_spelling_finds_both() -> None:
    assert set(kind_spellings("amend")) == set(kind_spellings("amendment")) == {"amend", "amendment"}
    assert set(kind_spellings("Substitution")) == {"substitute", "substitution"}
    assert kind_spellings("repurchase") == ("repurchase",)


def test_a_listed_settlement_reads_as_its_single_read_old_spelling_and_steps_included(world: World) -> None:
    """The list builds its page without validating each value again (gateway.settlement.views): what it shows of a
    settlement must still be what the single read shows, kind in the one vocabulary, sender checksummed."""
    trader = world.user("a", Role.TRADER, "lister")
    created = datetime.now(UTC)
    settlement_id = uuid.uuid4()
    with world.ctx.sessions() as session:
        session.add(
            Settlement(
                id=settlement_id,
                kind="substitute",
                organization_id=world.orgs["a"],
                requested_by="test",
                status="final",
                repo_id=7,
                created_at=created,
                finished_at=created,
            )
        )
        session.flush()
        session.add(SettlementParty(settlement_id=settlement_id, organization_id=world.orgs["a"], created_at=created))
        session.add(
            ChainStep(
                settlement_id=settlement_id,
                seq=0,
                label="substituteCollateral",
                sender="0x" + "ab" * 20,
                to="0x" + "cd" * 20,
                data="0x",
                status="final",
                nonce=3,
                tx_hash="0x" + "11" * 32,
                block_number=9,
            )
        )
        session.commit()
    listed = trader.get("/v1/settlements")
    single = trader.get(f"/v1/settlements/{settlement_id}")
    assert listed.status_code == single.status_code == 200, (listed.text, single.text)
    (row,) = [s for s in listed.json()["data"] if s["id"] == str(settlement_id)]
    assert row == single.json()
    assert row["kind"] == "substitution"
    assert row["steps"][0]["sender"] == to_checksum_address("0x" + "ab" * 20)
    assert (row["steps"][0]["nonce"], row["steps"][0]["block_number"]) == (3, 9)
