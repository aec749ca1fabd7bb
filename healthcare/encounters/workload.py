"""Hourly workload arithmetic: stays in, arrivals/discharges/census per hour out.

Plain numpy, no Django. Times are float hours since the Unix epoch (UTC), so hour h
covers [h, h + 1). A stay is the half-open interval [start, end); a patient counts in
the census of every hour the stay overlaps, because the nurse ratio applies at all
times, not only on the hour.

Stays without a recorded end (and every stay behind an imported arrival count) get a
length drawn from the department's lognormal model. The draws are pseudo-random but
keyed on what identifies the stay, not on a generator's state, so the same data always
gives the same census, whatever order or batches it arrives in.
"""

from dataclasses import dataclass
from hashlib import blake2b

import numpy as np
from scipy.special import ndtri

# A drawn stay never exceeds 30 days: the lognormal tail would otherwise keep a
# phantom patient in the census for months.
MAX_DRAWN_STAY_HOURS = 30 * 24

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijection of uint64 with full avalanche."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _to_unit_interval(bits: np.ndarray) -> np.ndarray:
    """uint64 -> floats strictly inside (0, 1), 53 bits of precision."""
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def text_seed(text: str) -> int:
    """A stable 64-bit integer for a string (Python's hash() changes per process)."""
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "little")


def text_uniforms(texts: list[str]) -> np.ndarray:
    """One stable uniform in (0, 1) per string."""
    seeds = np.fromiter((text_seed(t) for t in texts), dtype=np.uint64, count=len(texts))
    return _to_unit_interval(_splitmix64(seeds))


def lognormal_stay_hours(uniforms: np.ndarray, *, median_hours: float, sigma: float) -> np.ndarray:
    """Stay lengths at the given quantiles of a lognormal, capped at MAX_DRAWN_STAY_HOURS."""
    stays = median_hours * np.exp(sigma * ndtri(uniforms))
    return np.minimum(stays, MAX_DRAWN_STAY_HOURS)


def counted_arrival_stays(
    hours: np.ndarray, counts: np.ndarray, *, seed: int, median_hours: float, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Virtual stays behind hourly arrival counts: (starts, ends) in epoch hours.

    Arrival i of hour h starts at a uniform point inside h and stays a lognormal time;
    both draws are keyed on (seed, h, i), so one hour's stays do not depend on any other.
    """
    hours = np.asarray(hours, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    arrival_hours = np.repeat(hours, counts)
    first_of_hour = np.repeat(np.cumsum(counts) - counts, counts)
    index_in_hour = np.arange(total, dtype=np.int64) - first_of_hour
    keys = (arrival_hours.astype(np.uint64) << np.uint64(20)) | index_in_hour.astype(np.uint64)
    seed_bits = np.uint64(seed)
    offset_stream = _splitmix64(np.array([seed_bits ^ np.uint64(1)], dtype=np.uint64))[0]
    stay_stream = _splitmix64(np.array([seed_bits ^ np.uint64(2)], dtype=np.uint64))[0]
    offsets = _to_unit_interval(_splitmix64(keys ^ offset_stream))
    stay_quantiles = _to_unit_interval(_splitmix64(keys ^ stay_stream))
    starts = arrival_hours.astype(np.float64) + offsets
    ends = starts + lognormal_stay_hours(stay_quantiles, median_hours=median_hours, sigma=sigma)
    return starts, ends


@dataclass(frozen=True)
class HourlyWorkload:
    """Counts for the hours first_hour .. first_hour + len(census) - 1 (epoch hours)."""

    first_hour: int
    arrivals: np.ndarray
    discharges: np.ndarray
    census: np.ndarray

    @property
    def hours(self) -> np.ndarray:
        return np.arange(self.first_hour, self.first_hour + len(self.census), dtype=np.int64)


def hourly_workload(
    *, first_hour: int, last_hour: int, starts: np.ndarray, ends: np.ndarray, discharged: np.ndarray
) -> HourlyWorkload:
    """Arrivals, discharges and census of the hours first_hour..last_hour (inclusive).

    starts/ends: stay bounds in epoch hours; an end of +inf means "still here".
    discharged: which stays count a discharge in the hour of their end.
    Stays outside the window are ignored; a stay that began before it still counts
    in its census. Work is O(stays + hours), no loop in Python.
    """
    n = last_hour - first_hour + 1
    if n <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return HourlyWorkload(first_hour, empty, empty, empty)
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)

    start_index = np.floor(starts).astype(np.int64) - first_hour
    in_window = (start_index >= 0) & (start_index < n)
    arrivals = np.bincount(start_index[in_window], minlength=n)

    discharge_ends = ends[np.asarray(discharged, dtype=bool) & np.isfinite(ends)]
    end_index = np.floor(discharge_ends).astype(np.int64) - first_hour
    discharges = np.bincount(end_index[(end_index >= 0) & (end_index < n)], minlength=n)

    # Hours overlapped by [start, end): floor(start) .. ceil(end) - 1, clipped to the
    # window; counted with a difference array (+1 at the first hour, -1 after the last).
    first_overlap = np.maximum(np.floor(starts), first_hour) - first_hour
    last_overlap = np.minimum(np.ceil(ends) - 1, last_hour) - first_hour
    overlaps = first_overlap <= last_overlap
    first_overlap = first_overlap[overlaps].astype(np.int64)
    last_overlap = last_overlap[overlaps].astype(np.int64)
    steps = np.bincount(first_overlap, minlength=n + 1) - np.bincount(last_overlap + 1, minlength=n + 1)
    census = np.cumsum(steps)[:n]

    return HourlyWorkload(first_hour, arrivals, discharges, census)
