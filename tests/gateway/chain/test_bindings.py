"""Typed bindings: the engine's Repo struct by field name, its status enum, amendment kinds, anchor records."""

from __future__ import annotations

import dataclasses

import pytest

from contracts import eip712
from gateway.chain.bindings.anchor import AnchorRecord, anchor_components
from gateway.chain.bindings.engine import AmendmentKind, RepoState, RepoStatus, repo_components, snake_case


def _values(**overrides: object) -> list[object]:
    named = {snake_case(str(c["name"])): 0 for c in repo_components()}
    named.update(seller="0x" + "aa" * 20, buyer="0x" + "bb" * 20, status=2, crystallized_pd=-5, **overrides)
    return [named[snake_case(str(c["name"]))] for c in repo_components()]


def test_the_repo_struct_is_decoded_by_the_abis_field_names() -> None:
    state = RepoState.decode(_values(haircut_bps=250, margin_call_outstanding=7), repo_components())
    assert state.status is RepoStatus.MARGIN_CALLED and state.status.live
    assert state.haircut_bps == 250 and state.margin_call_outstanding == 7 and state.crystallized_pd == -5
    assert state.seller == "0x" + "aa" * 20 and state.buyer == "0x" + "bb" * 20
    assert {f.name for f in dataclasses.fields(RepoState)} == {snake_case(str(c["name"])) for c in repo_components()}


def test_a_struct_that_differs_from_the_binding_fails_loudly() -> None:
    components = [*repo_components()]
    renamed = [{**c, "name": "haircutPercent"} if c["name"] == "haircutBps" else c for c in components]
    with pytest.raises(ValueError, match="haircut"):
        RepoState.decode(_values(), renamed)
    with pytest.raises(ValueError, match="fields"):
        RepoState.decode(_values()[:-1], components)


def test_statuses_follow_the_contracts_enum_and_amendment_kinds_the_typed_data() -> None:
    assert [s.value for s in RepoStatus] == [
        "none", "open", "margin_called", "defaulted", "repurchased", "closed_out", "migrated",
    ]  # fmt: skip
    assert RepoStatus.from_code(5) is RepoStatus.CLOSED_OUT and not RepoStatus.REPURCHASED.live
    assert RepoStatus.from_code(6) is RepoStatus.MIGRATED and not RepoStatus.MIGRATED.live
    assert AmendmentKind.ROLL == eip712.AMEND_ROLL and AmendmentKind.RERATE == eip712.AMEND_RERATE


def test_an_anchor_record_is_decoded_by_name() -> None:
    from contracts.artifacts import load_artifact

    components = anchor_components(list(load_artifact("AuditAnchor").abi))
    by_name = {"sequence": 9, "headHash": b"\x01" * 32, "timestamp": 1700, "anchoredBy": "0x" + "cc" * 20}
    record = AnchorRecord.decode([by_name[str(c["name"])] for c in components], components)
    assert record == AnchorRecord(sequence=9, head_hash=b"\x01" * 32, timestamp=1700, anchored_by="0x" + "cc" * 20)
