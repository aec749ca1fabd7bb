"""The hourly arithmetic, checked against a brute-force count."""

import numpy as np
import pytest

from healthcare.encounters.workload import (
    MAX_DRAWN_STAY_HOURS,
    counted_arrival_stays,
    hourly_workload,
    lognormal_stay_hours,
    text_uniforms,
)


def brute_force(first_hour, last_hour, starts, ends, discharged):
    rows = []
    for h in range(first_hour, last_hour + 1):
        arrivals = sum(1 for s in starts if h <= s < h + 1)
        discharges = sum(1 for e, d in zip(ends, discharged, strict=True) if d and np.isfinite(e) and h <= e < h + 1)
        census = sum(1 for s, e in zip(starts, ends, strict=True) if s < h + 1 and e > h)
        rows.append((arrivals, discharges, census))
    return np.array(rows)


def test_hourly_workload_matches_brute_force_on_random_stays():
    rng = np.random.default_rng(3)
    starts = rng.uniform(100, 200, size=400)
    ends = starts + rng.lognormal(1.0, 1.0, size=400)
    ends[::17] = np.inf  # still here
    discharged = np.isfinite(ends)
    result = hourly_workload(first_hour=120, last_hour=180, starts=starts, ends=ends, discharged=discharged)
    expected = brute_force(120, 180, starts, ends, discharged)
    assert np.array_equal(np.stack([result.arrivals, result.discharges, result.census], axis=1), expected)
    assert result.hours[0] == 120 and result.hours[-1] == 180


def test_stay_counts_in_every_hour_it_overlaps_and_not_after_it_ends_on_the_hour():
    # 10:30 to 12:00 exactly: present in hours 10 and 11, discharged in hour 12.
    result = hourly_workload(
        first_hour=9, last_hour=13, starts=np.array([10.5]), ends=np.array([12.0]), discharged=np.array([True])
    )
    assert result.census.tolist() == [0, 1, 1, 0, 0]
    assert result.arrivals.tolist() == [0, 1, 0, 0, 0]
    assert result.discharges.tolist() == [0, 0, 0, 1, 0]


def test_stay_begun_before_the_window_counts_in_its_census_but_not_its_arrivals():
    result = hourly_workload(
        first_hour=10, last_hour=11, starts=np.array([5.2]), ends=np.array([10.4]), discharged=np.array([True])
    )
    assert result.census.tolist() == [1, 0]
    assert result.arrivals.tolist() == [0, 0]
    assert result.discharges.tolist() == [1, 0]


def test_empty_window_gives_empty_arrays():
    result = hourly_workload(first_hour=5, last_hour=4, starts=np.array([1.0]), ends=np.array([2.0]), discharged=[True])
    assert len(result.census) == 0


def test_counted_arrival_stays_are_reproducible_and_independent_of_other_hours():
    hours = np.array([1000, 1001, 1002])
    counts = np.array([3, 0, 2])
    starts, ends = counted_arrival_stays(hours, counts, seed=42, median_hours=4.0, sigma=0.7)
    again_starts, again_ends = counted_arrival_stays(hours, counts, seed=42, median_hours=4.0, sigma=0.7)
    assert np.array_equal(starts, again_starts) and np.array_equal(ends, again_ends)
    # Hour 1002 alone draws the same two stays as within the batch.
    alone_starts, alone_ends = counted_arrival_stays(
        np.array([1002]), np.array([2]), seed=42, median_hours=4.0, sigma=0.7
    )
    assert np.array_equal(alone_starts, starts[3:]) and np.array_equal(alone_ends, ends[3:])
    assert np.all((starts >= np.repeat(hours, counts)) & (starts < np.repeat(hours, counts) + 1))
    assert np.all(ends > starts)


def test_counted_arrival_stays_follow_the_length_of_stay_model():
    starts, ends = counted_arrival_stays(np.arange(20_000), np.full(20_000, 2), seed=7, median_hours=5.0, sigma=0.6)
    stays = ends - starts
    assert np.median(stays) == pytest.approx(5.0, rel=0.03)
    assert np.std(np.log(stays)) == pytest.approx(0.6, rel=0.03)


def test_a_different_seed_draws_different_stays():
    a = counted_arrival_stays(np.array([5]), np.array([4]), seed=1, median_hours=4.0, sigma=0.7)[1]
    b = counted_arrival_stays(np.array([5]), np.array([4]), seed=2, median_hours=4.0, sigma=0.7)[1]
    assert not np.array_equal(a, b)


def test_drawn_stays_are_capped():
    stays = lognormal_stay_hours(np.array([0.5, 1 - 1e-12]), median_hours=500.0, sigma=3.0)
    assert stays[0] == pytest.approx(500.0)
    assert stays[1] == MAX_DRAWN_STAY_HOURS


def test_text_uniforms_are_stable_and_inside_the_unit_interval():
    values = text_uniforms(["fhir:a", "fhir:b", "fhir:a"])
    assert values[0] == values[2] != values[1]
    assert np.all((values > 0) & (values < 1))
