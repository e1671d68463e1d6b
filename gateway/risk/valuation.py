"""An agreement's valuation times: the UTC times of day (chain time) at which the pair's exposure is valued for
margin calls, as a GMRA annex names them. Between two of them the service keeps watching and showing the exposure
but calls only once a new valuation point has passed; an agreement without valuation times is valued continuously
(every tick)."""

from __future__ import annotations

DAY = 86_400


def seconds_of(time_of_day: str) -> int:
    hours, _, minutes = time_of_day.partition(":")
    return int(hours) * 3_600 + int(minutes) * 60


def latest_point(times: tuple[str, ...], now: int) -> int | None:
    """The latest valuation point at or before ``now`` (Unix seconds), None without valuation times."""
    if not times:
        return None
    midnight = now - now % DAY
    points = [midnight + seconds_of(t) for t in times]
    past = [p for p in points if p <= now]
    return max(past) if past else max(points) - DAY
