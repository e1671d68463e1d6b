"""One vocabulary for settlement kinds: substitution and amendment, whatever spelling was stored or is sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from gateway.settlement.schemas import SettlementPublic, canonical_kind, kind_spellings


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
