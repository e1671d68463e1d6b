"""The eligible collateral schedule of a margin agreement: which collateral counts and at what haircut, by class
(a named set of ISIN prefixes, e.g. ``US912`` for US Treasuries) and the bond's currency. The first entry that
matches a bond applies (a schedule is read top down, as in a CSA's table); the agreement's haircut is then the
larger of the entry's and the repo's own (the engine's). A bond no entry matches (or one at a 100% haircut) counts
for nothing in the pair's net exposure: its market value is taken as zero while the repo keeps its own haircut, so
under method B the exposure is ``RP − cash margin`` and under method A the GMRA's ``RP × margin ratio − 0`` (a 100%
haircut would make the margin ratio infinite). An empty schedule leaves every repo at its own haircut.

Pure: the risk service applies it to the net exposure; a call on a repo still needs the engine's own test (its
exposure at the repo's haircut above the repo's minimum transfer)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway.risk.exposure import BPS, RepoValue

ANY = "*"


@dataclass(frozen=True)
class Eligible:
    collateral_class: str
    isin_prefixes: tuple[str, ...]  # empty: any ISIN
    currency: str  # ISO code of the bond's denomination, or "*"
    haircut_bps: int


def entry_for(schedule: tuple[Eligible, ...], isin: str | None, currency: str | None) -> Eligible | None:
    for entry in schedule:
        if entry.currency != ANY and (currency or "").upper() != entry.currency.upper():
            continue
        if entry.isin_prefixes and not any((isin or "").upper().startswith(p.upper()) for p in entry.isin_prefixes):
            continue
        return entry
    return None


def agreed_haircut(schedule: tuple[Eligible, ...], *, isin: str | None, currency: str | None, repo_bps: int) -> int:
    """The haircut the pair's net exposure uses: the repo's own without a schedule; 100% when not eligible."""
    if not schedule:
        return repo_bps
    entry = entry_for(schedule, isin, currency)
    return BPS if entry is None else max(repo_bps, entry.haircut_bps)


def agreed_value(
    schedule: tuple[Eligible, ...], value: RepoValue, *, isin: str | None, currency: str | None
) -> RepoValue:
    """The repo as the agreement values it: at the agreed haircut, or, when not eligible, with no collateral value
    at the repo's own haircut (valid under both methods: no 100% haircut reaches method A's margin ratio)."""
    bps = agreed_haircut(schedule, isin=isin, currency=currency, repo_bps=value.haircut_bps)
    if bps >= BPS:
        return replace(value, collateral_amount=0)
    return value if bps == value.haircut_bps else replace(value, haircut_bps=bps)


def from_wire(rows: list[dict[str, object]]) -> tuple[Eligible, ...]:
    return tuple(
        Eligible(
            collateral_class=str(r["collateral_class"]),
            isin_prefixes=tuple(str(p) for p in r.get("isin_prefixes") or ()),  # type: ignore[attr-defined]
            currency=str(r.get("currency") or ANY),
            haircut_bps=int(str(r["haircut_bps"])),
        )
        for r in rows
    )
