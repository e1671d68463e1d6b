"""Corrections (field 2.98 CORR): what a member reported for a day, against what the indexed events give now.

A record is known by its UTI, its side and its event's place on chain (block, log index): the same event always
derives the same record unless something it was derived from changed since (an instrument's ISIN or currency
listed later, a member's LEI corrected, a price point followed late). Each reported record the derivation now gives
differently is re-sent as the current record with action CORR; records that are the same need nothing, and records
not reported yet are not corrections (they belong in their day's file)."""

from __future__ import annotations

from dataclasses import replace

from gateway.reporting.records import COLUMNS, ActionType, ReportRecord, as_row

Key = tuple[str, str, int, int]
COMPARED = tuple(c for c in COLUMNS if c != "action_type")  # what a correction changes is the action: the rest counts


def _key(record: ReportRecord) -> Key:
    return record.uti, record.counterparty_side.value, record.block_number, record.log_index


def corrections(reported: list[ReportRecord], current: list[ReportRecord]) -> list[ReportRecord]:
    """The current records, as CORR, of the reported ones whose fields differ now (in the reported order)."""
    now = {_key(r): r for r in current}
    out = []
    for before in reported:
        after = now.get(_key(before))
        if after is None:
            continue
        old, new = as_row(before), as_row(after)
        if any(old[c] != new[c] for c in COMPARED):
            out.append(replace(after, action_type=ActionType.CORR))
    return out
