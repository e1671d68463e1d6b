"""A labelled synthetic repo market for measuring surveillance: normal member behaviour plus injected typologies.

Normal: members with their own size, activity, counterparties, collateral and rate habits, trading on business days
in office hours around a drifting reference rate; with the noise that makes rules work for a living (occasional
larger trades, new counterparties, two-way flow with a counterparty in other sizes, holidays, busy days of smaller
trades). Injected, in every period: wash trades, round trips (A→B→C→A), off-market rates, layering through many
small repos, and dormant members returning large. Every trade is labelled with its typology (``normal`` otherwise).

    python scripts/surveillance_market.py --seed 7 --days 90 --out market.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gateway.surveillance.trades import DAY, Side, Trade, Typology

COLLATERAL = ("GOV26", "GOV28", "GOV32", "GOV45", "CORP27", "CORP30", "CORP33", "AGY29")
SPECIAL = "GOV34"  # a bond in demand ("on special"): repo rates on it sit well below the general reference
TENORS = (1, 1, 1, 7, 7, 14, 30, 90)
START = 1_767_571_200  # 2026-01-05T00:00Z, a Monday: day d of the market is START + d days


@dataclass(frozen=True)
class MarketParams:
    seed: int = 7
    days: int = 90
    members: int = 20
    dormant_members: int = 8  # members that go quiet for weeks at some point (half return large: the typology)
    per_period: int = 30  # days per injection period
    wash: int = 6  # instances per period
    round_trip: int = 5
    off_market: int = 8
    layering: int = 3
    dormant_then_large: int = 3


@dataclass(frozen=True)
class LabelledTrade:
    trade: Trade
    typology: Typology


@dataclass
class _Profile:
    name: str
    median_cash: float
    per_day: float
    partners: list[str]
    collateral: list[str]
    rate_bias: float
    dormant_from: int = -1  # first idle day, if the member goes quiet
    dormant_until: int = -1


@dataclass
class Market:
    params: MarketParams
    rng: random.Random
    profiles: dict[str, _Profile] = field(default_factory=dict)
    reference: list[float] = field(default_factory=list)
    out: list[LabelledTrade] = field(default_factory=list)

    def trade(
        self,
        day: int,
        seconds: int,
        member: str,
        cp: str,
        side: Side,
        cash: float,
        *,
        rate: float | None = None,
        collateral: str | None = None,
        tenor: int | None = None,
        label: Typology = Typology.NORMAL,
    ) -> Trade:
        p = self.profiles[member]
        ref = self.reference[day]
        coll = collateral or self.rng.choice(p.collateral)
        t = Trade(
            trade_id=f"T{len(self.out):06d}",
            time=START + day * DAY + seconds,
            member=member,
            counterparty=cp,
            side=side,
            cash=round(cash, 2),
            rate_bps=round(rate if rate is not None else ref + p.rate_bias + self.rng.gauss(0, 8), 2),
            reference_bps=round(ref, 2),
            tenor_days=tenor or self.rng.choice(TENORS),
            haircut_bps=200 if coll.startswith(("GOV", "AGY")) else 500,
            collateral=coll,
        )
        self.out.append(LabelledTrade(t, label))
        return t

    def office_seconds(self) -> int:
        return self.rng.randint(8 * 3600, 17 * 3600)

    def size(self, p: _Profile, scale: float = 1.0) -> float:
        return p.median_cash * scale * self.rng.lognormvariate(0, 0.35)


def _profiles(m: Market) -> None:
    names = [f"M{i:02d}" for i in range(m.params.members)]
    for i, name in enumerate(names):
        others = [n for n in names if n != name]
        m.profiles[name] = _Profile(
            name=name,
            median_cash=10 ** m.rng.uniform(6.5, 8.0),
            per_day=m.rng.uniform(1.5, 5.0),
            partners=m.rng.sample(others, m.rng.randint(3, 6)),
            collateral=m.rng.sample(COLLATERAL, m.rng.randint(2, 3)),
            rate_bias=m.rng.uniform(-6, 6),
        )
        if i < m.params.dormant_members:  # quiet for 25-40 days somewhere after the first month
            start = m.rng.randint(25, max(26, m.params.days - 40))
            until = start + m.rng.randint(25, 40)
            until += (7 - until % 7) % 7  # back on a Monday
            m.profiles[name].dormant_from, m.profiles[name].dormant_until = start, until


def _normal_day(m: Market, day: int) -> None:
    idle = {p.name for p in m.profiles.values() if p.dormant_from <= day < p.dormant_until}
    for p in m.profiles.values():
        if p.name in idle:
            continue
        partners = [n for n in p.partners if n not in idle] or [n for n in m.profiles if n not in idle | {p.name}]
        count = sum(m.rng.random() < p.per_day / 6 for _ in range(6))
        for _ in range(count):
            others = [n for n in m.profiles if n not in idle | {p.name}]
            cp = m.rng.choice(partners) if m.rng.random() > 0.04 else m.rng.choice(others)
            scale = 2.5 if m.rng.random() < 0.03 else 1.0
            m.trade(day, m.office_seconds(), p.name, cp, m.rng.choice(list(Side)), m.size(p, scale))
        if m.rng.random() < 0.02:  # legitimately far from the reference: the special bond trades below GC
            m.trade(
                day,
                m.office_seconds(),
                p.name,
                m.rng.choice(partners),
                m.rng.choice(list(Side)),
                m.size(p),
                rate=m.reference[day] - m.rng.uniform(20, 90),
                collateral=SPECIAL,
            )
        if m.rng.random() < 0.03:  # legitimate two-way flow: the other way round, another size
            cp, coll, s = m.rng.choice(partners), m.rng.choice(p.collateral), m.office_seconds()
            cash = m.size(p)
            m.trade(day, s, p.name, cp, Side.BORROW, cash, collateral=coll)
            m.trade(
                day,
                min(s + m.rng.randint(600, 7200), DAY - 1),
                p.name,
                cp,
                Side.LEND,
                cash * m.rng.uniform(1.2, 1.6),
                collateral=coll,
            )
        if m.rng.random() < 0.02:  # a busy day of smaller tickets with usual partners
            s = m.office_seconds()
            for k in range(m.rng.randint(3, 5)):
                m.trade(day, min(s + 900 * k, DAY - 1), p.name, m.rng.choice(partners), Side.LEND, m.size(p, 0.3))


def _inject(m: Market, first_day: int, last_day: int) -> None:
    rng, params, names = m.rng, m.params, sorted(m.profiles)

    def active(day: int) -> list[str]:
        return [n for n in names if not m.profiles[n].dormant_from <= day < m.profiles[n].dormant_until]

    def business_day() -> int:
        while True:
            day = rng.randint(first_day, last_day)
            if day % 7 < 5:
                return day

    for _ in range(params.wash):
        day = business_day()
        a, b = rng.sample(active(day), 2)
        s, coll, cash = m.office_seconds(), rng.choice(COLLATERAL), m.size(m.profiles[a])
        m.trade(day, s, a, b, Side.BORROW, cash, collateral=coll, tenor=7, label=Typology.WASH)
        m.trade(
            day,
            s + rng.randint(300, 3000),
            a,
            b,
            Side.LEND,
            cash * rng.uniform(0.995, 1.005),
            collateral=coll,
            tenor=7,
            label=Typology.WASH,
        )
    for _ in range(params.round_trip):
        day = business_day()
        a, b, c = rng.sample(active(day), 3)
        s, coll, cash = m.office_seconds(), rng.choice(COLLATERAL), m.size(m.profiles[a])
        for k, (seller, buyer) in enumerate(((a, b), (b, c), (c, a))):
            booker, side = (seller, Side.BORROW) if rng.random() < 0.5 else (buyer, Side.LEND)
            other = buyer if booker == seller else seller
            m.trade(
                day,
                s + k * rng.randint(600, 3600),
                booker,
                other,
                side,
                cash * rng.uniform(0.99, 1.01),
                collateral=coll,
                label=Typology.ROUND_TRIP,
            )
    for _ in range(params.off_market):
        day = business_day()
        a = rng.choice(active(day))
        p = m.profiles[a]
        gap = rng.uniform(80, 300) * rng.choice((-1, 1))
        m.trade(
            day,
            m.office_seconds(),
            a,
            rng.choice([n for n in active(day) if n != a]),
            rng.choice(list(Side)),
            m.size(p),
            rate=m.reference[day] + gap,
            label=Typology.OFF_MARKET,
        )
    for _ in range(params.layering):
        day = business_day()
        a = rng.choice(active(day))
        p, s = m.profiles[a], m.office_seconds()
        cps = rng.sample([n for n in active(day) if n != a], rng.randint(5, 8))
        for k in range(rng.randint(7, 11)):
            m.trade(
                day,
                s + k * rng.randint(300, 1200),
                a,
                cps[k % len(cps)],
                Side.LEND,
                p.median_cash * rng.uniform(0.05, 0.2),
                label=Typology.LAYERING,
            )
    returning = [p for p in m.profiles.values() if first_day <= p.dormant_until <= last_day]
    for p in returning[: params.dormant_then_large]:  # the first trade of the day it comes back
        m.trade(
            p.dormant_until,
            7 * 3600 + rng.randint(0, 1800),
            p.name,
            rng.choice([n for n in active(p.dormant_until) if n != p.name]),
            Side.LEND,
            p.median_cash * rng.uniform(5, 15),
            label=Typology.DORMANT_THEN_LARGE,
        )


def generate(params: MarketParams) -> list[LabelledTrade]:
    """The market's trades in time order, each with its label. The same params give the same market."""
    m = Market(params, random.Random(params.seed))
    _profiles(m)
    rate = 350.0
    for _ in range(params.days):
        m.reference.append(rate)
        rate += m.rng.gauss(0, 2)
    for day in range(params.days):
        if day % 7 < 5:
            _normal_day(m, day)
    for first in range(0, params.days, params.per_period):
        _inject(m, first, min(first + params.per_period, params.days) - 1)
    return sorted(m.out, key=lambda lt: (lt.trade.time, lt.trade.trade_id))


def write_jsonl(trades: list[LabelledTrade], path: Path) -> None:
    with path.open("w") as f:
        for lt in trades:
            f.write(json.dumps({**asdict(lt.trade), "typology": lt.typology.value}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=MarketParams.seed)
    parser.add_argument("--days", type=int, default=MarketParams.days)
    parser.add_argument("--members", type=int, default=MarketParams.members)
    parser.add_argument("--out", type=Path, required=True, help="JSON lines: one trade with its typology a line")
    args = parser.parse_args()
    trades = generate(MarketParams(seed=args.seed, days=args.days, members=args.members))
    write_jsonl(trades, args.out)
    counts: dict[str, int] = {}
    for lt in trades:
        counts[lt.typology.value] = counts.get(lt.typology.value, 0) + 1
    print(f"{len(trades)} trades to {args.out}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
