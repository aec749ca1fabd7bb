"""Ingestion services: upserts, idempotency, atomicity and the derived hourly workload."""

from datetime import timedelta
from unittest import mock

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from healthcare.encounters import services
from healthcare.encounters.ingest.mapping import load_mapping
from healthcare.encounters.ingest.records import ArrivalRecord
from healthcare.encounters.models import ArrivalCount, Department, Encounter, WorkloadHour
from healthcare.encounters.pseudonym import patient_pseudonymizer
from healthcare.encounters.tasks import workload_rebuild_task
from tests.factories import encounter_record, hour

NOW = hour(20, 0)


def snapshot() -> dict:
    """Every row of the patient-flow tables, timestamps included."""
    return {
        "departments": list(Department.objects.order_by("id").values_list()),
        "encounters": list(Encounter.objects.order_by("id").values_list()),
        "counts": list(ArrivalCount.objects.order_by("id").values_list()),
        "workload": list(
            WorkloadHour.objects.order_by("department_id", "hour").values_list(
                "department_id", "hour", "arrivals", "discharges", "census"
            )
        ),
    }


def workload(department) -> dict:
    rows = WorkloadHour.objects.filter(department=department).order_by("hour")
    return {row.hour: (row.arrivals, row.discharges, row.census) for row in rows}


def ingest(records, **kwargs):
    return services.encounters_ingest(records=records, source="test", now=NOW, **kwargs)


def test_encounters_ingest_stores_pseudonyms_and_the_hourly_workload(ed):
    summary = ingest(
        [
            encounter_record("a", start=hour(1, 10, 30), end=hour(1, 12, 0), patient="MRN-123"),
            encounter_record("b", start=hour(1, 11, 5), hours=0.5),
        ]
    )
    assert (summary.created, summary.updated, summary.unchanged) == (2, 0, 0)
    stored = Encounter.objects.get(source_id="a")
    assert stored.patient_key == patient_pseudonymizer(settings.PSEUDONYM_KEY)("MRN-123")
    assert stored.patient_key != patient_pseudonymizer("another key")("MRN-123")
    assert "MRN-123" not in str(Encounter.objects.values_list())
    assert workload(ed) == {
        hour(1, 10): (1, 0, 1),
        hour(1, 11): (1, 1, 2),
        hour(1, 12): (0, 1, 0),
    }


def test_encounters_ingest_twice_leaves_every_table_unchanged(ed):
    records = [encounter_record(f"e{i}", start=hour(2, i), hours=3 + i) for i in range(10)]
    ingest(records)
    before = snapshot()
    summary = ingest(records)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 10)
    assert summary.workload.written == summary.workload.deleted == 0
    assert snapshot() == before


def test_a_later_record_with_the_same_source_id_updates_the_encounter_and_its_hours(ed):
    ingest([encounter_record("x", start=hour(3, 8))])  # in progress: present until NOW
    assert max(workload(ed)) == hour(20, 0)
    summary = ingest([encounter_record("x", start=hour(3, 8), end=hour(3, 10, 15))])
    assert (summary.created, summary.updated) == (0, 1)
    assert Encounter.objects.get(source_id="x").status == "finished"
    assert workload(ed) == {hour(3, 8): (1, 0, 1), hour(3, 9): (0, 0, 1), hour(3, 10): (0, 1, 1)}


def test_moving_an_encounter_to_another_department_rebuilds_both(ed, icu):
    ingest([encounter_record("m", start=hour(4, 1), hours=2)])
    ingest([encounter_record("m", start=hour(4, 1), hours=2, department="ICU")])
    assert workload(ed) == {}
    assert list(workload(icu).values()) == [(1, 0, 1), (0, 0, 1), (0, 1, 0)]


def test_a_discharge_recomputes_only_the_hours_from_its_end(ed):
    ingest([encounter_record("long", start=hour(2, 10))])  # in progress since the 2nd
    with mock.patch.object(services.ingest, "workload_rebuild", wraps=services.ingest.workload_rebuild) as rebuild:
        summary = ingest([encounter_record("long", start=hour(2, 10), end=hour(19, 22, 30))])
    assert rebuild.call_args.kwargs["start"] == hour(19, 22, 30) and rebuild.call_args.kwargs["end"] == NOW
    # The discharge in its hour; the empty hours after it lose their rows.
    assert (summary.workload.written, summary.workload.deleted) == (1, 2)
    assert workload(ed)[hour(19, 22)] == (0, 1, 1) and max(workload(ed)) == hour(19, 22)


def spied_ingest(records):
    """ingest() with both ways of bringing the hours up to date watched: (summary, differences applied, rebuilds)."""
    apply_stays = mock.patch.object(services.ingest, "workload_apply_stays", wraps=services.ingest.workload_apply_stays)
    rebuild = mock.patch.object(services.ingest, "workload_rebuild", wraps=services.ingest.workload_rebuild)
    with apply_stays as applied, rebuild as rebuilt:
        summary = ingest(records)
    return summary, [call for call in applied.mock_calls if call[0] == ""], rebuilt.call_count


def assert_as_rebuilt(*departments):
    for department in departments:
        full = services.workload_rebuild(department=department, now=NOW)
        assert (full.written, full.deleted) == (0, 0)


def test_a_live_admit_and_discharge_add_their_own_difference_to_current_hours(ed):
    ingest([encounter_record("here", start=hour(19, 8))])  # still here: the span reaches the current hour
    summary, applied, rebuilds = spied_ingest([encounter_record("new", start=hour(19, 23, 40))])
    assert (len(applied), rebuilds) == (1, 0)
    assert workload(ed)[hour(19, 23)] == (1, 0, 2) and workload(ed)[hour(20, 0)] == (0, 0, 2)
    assert summary.workload.live == [(hour(19, 23), 1, 2), (hour(20, 0), 0, 2)]
    summary, applied, rebuilds = spied_ingest([encounter_record("new", start=hour(19, 23, 40), end=hour(19, 23, 55))])
    assert (len(applied), rebuilds) == (1, 0)
    assert workload(ed)[hour(19, 23)] == (1, 1, 2) and workload(ed)[hour(20, 0)] == (0, 0, 1)
    assert_as_rebuilt(ed)


def test_without_a_row_for_the_current_hour_the_hours_are_rebuilt(ed):
    """A new hour has no row until something computes it: its census cannot be had by difference."""
    ingest([encounter_record("here", start=hour(19, 8))])
    WorkloadHour.objects.filter(department=ed, hour=hour(20, 0)).delete()
    _, _, rebuilds = spied_ingest([encounter_record("new", start=hour(19, 23, 40))])
    assert rebuilds == 1 and workload(ed)[hour(20, 0)] == (0, 0, 2)
    assert_as_rebuilt(ed)


def test_a_row_that_would_go_negative_is_set_right_by_a_rebuild(ed):
    ingest([encounter_record("here", start=hour(19, 8)), encounter_record("out", start=hour(19, 9))])
    WorkloadHour.objects.filter(department=ed, hour=hour(19, 22)).update(census=0)  # not what the data says
    _, applied, rebuilds = spied_ingest([encounter_record("out", start=hour(19, 9), end=hour(19, 21, 30))])
    assert len(applied) == 1 and rebuilds == 1
    assert workload(ed)[hour(19, 22)] == (0, 0, 1)
    assert_as_rebuilt(ed)


def test_a_drawn_stay_is_rebuilt_never_applied_as_a_difference(ed):
    ingest([encounter_record("here", start=hour(19, 8)), encounter_record("f", start=hour(19, 9))])
    _, applied, rebuilds = spied_ingest([encounter_record("f", start=hour(19, 9), status="finished")])
    assert (len(applied), rebuilds) == (0, 1)
    assert_as_rebuilt(ed)


def test_a_change_that_moves_no_bound_recomputes_nothing(ed):
    ingest([encounter_record("c", start=hour(2, 10), hours=5)])
    with mock.patch.object(services.ingest, "workload_rebuild") as rebuild:
        summary = ingest([encounter_record("c", start=hour(2, 10), hours=5, encounter_class="IMP", patient="other")])
    assert summary.updated == 1 and not rebuild.called


def test_hours_a_new_stay_brings_into_the_span_count_the_drawn_stays_before_it(ed, icu):
    """The span ended at the drawn stay's start; a later stay extends it over the drawn stay's hours."""
    ingest([encounter_record("f", start=hour(9, 0), status="finished", department="ICU")])
    assert list(workload(icu)) == [hour(9, 0)]
    ingest([encounter_record("m", start=hour(12, 0))])
    ingest([encounter_record("m", start=hour(12, 0), department="ICU")])
    rebuilt = services.workload_rebuild(department=icu, now=NOW)
    assert (rebuilt.written, rebuilt.deleted) == (0, 0)
    assert workload(icu)[hour(10, 0)] == (0, 0, 1)  # the drawn stay, before the moved one began


@pytest.mark.parametrize("seed", range(4))  # 25 passed when written
def test_after_any_change_of_a_stay_a_full_rebuild_finds_nothing_to_change(ed, icu, seed):
    """The narrowed rebuild of each change leaves every hour as recomputing everything would."""
    rng = np.random.default_rng(seed)
    stays = {}
    for number in range(30):
        start = hour(1, 0) + timedelta(hours=float(rng.integers(0, 400)), minutes=float(rng.integers(0, 60)))
        stays[f"s{number}"] = encounter_record(
            f"s{number}", start=start, hours=None if number % 4 == 0 else float(rng.uniform(0.2, 60))
        )
    ingest(list(stays.values()))
    changes = ["start", "end", "reopen", "close", "move", "cancel", "restore", "drawn", "class"]
    for step in range(80):
        source_id = f"s{rng.integers(0, 30)}"
        old, change = stays[source_id], changes[step % len(changes)]
        start, end, status, department = old.start, old.end, old.status, old.department_code
        shift = timedelta(hours=float(rng.uniform(-30, 30)))
        if change == "start":
            start = min(start + shift, end or NOW, NOW - timedelta(minutes=1))
        elif change in ("end", "close"):
            end = min(max(start, (end or NOW) + shift), NOW)
            status = "finished"
        elif change == "reopen":
            end, status = None, "in-progress"
        elif change == "move":
            department = "ICU" if department == "ED" else "ED"
        elif change == "cancel":
            status = "cancelled"
        elif change == "restore":
            status = "finished" if end else "in-progress"
        elif change == "drawn":
            end, status = None, "finished"  # closed without an end time: a drawn length
        stays[source_id] = encounter_record(
            source_id,
            start=start,
            end=end,
            status=status,
            department=department,
            encounter_class="IMP" if change == "class" else old.encounter_class,
        )
        ingest([stays[source_id]])
        for unit in (ed, icu):
            full = services.workload_rebuild(department=unit, now=NOW)
            assert (full.written, full.deleted) == (0, 0), f"step {step}: {old} -> {stays[source_id]} in {unit.code}"


def test_encounters_ingest_rejects_an_unknown_department_and_writes_nothing(ed):
    ingest([encounter_record("keep", start=hour(5, 1), hours=1)])
    before = snapshot()
    with pytest.raises(services.IngestError) as raised:
        ingest(
            [
                encounter_record("new", start=hour(5, 2), hours=1),
                encounter_record("bad", start=hour(5, 3), department="NOPE"),
            ]
        )
    (error,) = raised.value.errors
    assert error.field == "department" and "NOPE" in error.message and error.location == "test record bad"
    assert snapshot() == before


def test_encounters_ingest_with_skip_invalid_stores_the_rest_and_lists_the_skipped(ed):
    summary = ingest(
        [
            encounter_record("good", start=hour(5, 2), hours=1),
            encounter_record("bad", start=hour(5, 3), department="NOPE"),
        ],
        skip_invalid=True,
    )
    assert summary.created == 1 and [e.location for e in summary.skipped] == ["test record bad"]
    assert list(Encounter.objects.values_list("source_id", flat=True)) == ["good"]


def test_encounters_ingest_rolls_back_everything_when_the_database_fails_midway(ed):
    ingest([encounter_record("keep", start=hour(5, 1), hours=1)])
    before = snapshot()
    failing_rebuild = mock.patch.object(
        services.ingest, "workload_rebuild", autospec=True, side_effect=RuntimeError("disk")
    )
    with failing_rebuild, pytest.raises(RuntimeError):
        ingest([encounter_record("new", start=hour(6, 1), hours=1)])
    assert snapshot() == before


def test_encounters_ingest_creates_departments_the_mapping_names(db):
    summary = ingest(
        [encounter_record("u", start=hour(6, 1), hours=1, department="MEDSURG")], mapping=load_mapping(None)
    )
    assert summary.departments_created == ["MEDSURG"]
    department = Department.objects.get(code="MEDSURG")
    assert (department.unit_type, department.patients_per_nurse, department.min_nurses) == ("medsurg", 5, 2)


def test_visible_departments_limit_what_a_caller_may_write(ed, icu):
    only_ed = Department.objects.filter(code="ED")
    with pytest.raises(services.IngestError):
        ingest([encounter_record("i", start=hour(6, 1), department="ICU")], visible_departments=only_ed)
    assert not Encounter.objects.exists()


def test_a_caller_cannot_take_over_an_encounter_of_a_department_it_may_not_see(ed, icu):
    ingest([encounter_record("v9", start=hour(6, 1), hours=30, department="ICU")])
    before = snapshot()
    with pytest.raises(services.IngestError) as raised:
        ingest(
            [encounter_record("v9", start=hour(6, 1), hours=1, department="ED")],
            visible_departments=Department.objects.filter(code="ED"),
        )
    (error,) = raised.value.errors
    assert error.field == "id" and "may not change" in error.message
    assert snapshot() == before


def test_implausibly_long_stays_are_rejected(ed):
    with pytest.raises(services.IngestError) as raised:
        ingest(
            [
                encounter_record("long", start=hour(1, 0), hours=24 * 400),
                encounter_record("stale", start=NOW - timedelta(days=400), status="in-progress"),
                encounter_record("fine", start=NOW - timedelta(days=400), hours=5),
            ]
        )
    assert [(e.location, e.field) for e in raised.value.errors] == [
        ("test record long", "end"),
        ("test record stale", "start"),
    ]


def test_encounters_ingest_keeps_the_last_of_repeated_source_ids(ed):
    summary = ingest(
        [encounter_record("r", start=hour(7, 1), hours=1), encounter_record("r", start=hour(7, 1), hours=2)]
    )
    assert summary.created == 1 and "repeated" in summary.notes[0]
    assert Encounter.objects.get().length_of_stay == timedelta(hours=2)


def test_planned_and_cancelled_encounters_add_no_workload(ed):
    ingest(
        [
            encounter_record("p", start=hour(8, 1), status="planned"),
            encounter_record("c", start=hour(8, 1), hours=2, status="cancelled"),
        ]
    )
    assert workload(ed) == {}


def test_open_finished_encounter_gets_a_stay_from_the_length_of_stay_model(ed):
    later = hour(9, 0) + timedelta(days=31)
    ingest([encounter_record("f", start=hour(9, 0), status="finished"), encounter_record("g", start=later, hours=1)])
    rows = {moment: row for moment, row in workload(ed).items() if moment < later}
    # One drawn stay: present from its start, discharged once, within the 30-day cap.
    assert rows[hour(9, 0)] == (1, 0, 1)
    assert sum(discharges for _, discharges, _ in rows.values()) == 1
    assert all(census == 1 for _, _, census in list(rows.values())[:-1])


def test_rows_never_extend_past_the_last_observed_hour(ed):
    ingest([encounter_record("f", start=hour(9, 0), status="finished")])
    assert list(workload(ed)) == [hour(9, 0)]


def test_workload_matches_a_brute_force_count_over_many_encounters(ed):
    rng = np.random.default_rng(11)
    records = []
    for i in range(300):
        start = hour(1, 0) + timedelta(hours=float(rng.uniform(0, 200)))
        records.append(
            encounter_record(f"r{i}", start=start.replace(microsecond=0), hours=float(rng.lognormal(1, 0.8)))
        )
    ingest(records)
    stored = workload(ed)
    for moment in (hour(2, 0), hour(3, 13), hour(5, 7), hour(8, 23)):
        census = sum(1 for r in records if r.start < moment + timedelta(hours=1) and r.end > moment)
        arrivals = sum(1 for r in records if moment <= r.start < moment + timedelta(hours=1))
        assert stored.get(moment, (0, 0, 0))[0] == arrivals
        assert stored.get(moment, (0, 0, 0))[2] == census


def test_arrivals_ingest_conserves_arrivals_and_derives_census(ed):
    records = [ArrivalRecord(hour(10, h), arrivals, f"line {h}") for h, arrivals in enumerate([4, 0, 7, 3])]
    summary = services.arrivals_ingest(department=ed, records=records, source="a.csv", now=NOW)
    assert (summary.created, summary.unchanged) == (4, 0)
    rows = workload(ed)
    assert sum(a for a, _, _ in rows.values()) == 14
    assert max(rows) == hour(10, 3)  # no rows past the last counted hour
    assert all(census >= arrivals for arrivals, _, census in rows.values())
    before = snapshot()
    again = services.arrivals_ingest(department=ed, records=records, source="a.csv", now=NOW)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert snapshot() == before


def test_arrivals_ingest_updates_a_changed_count(ed):
    services.arrivals_ingest(department=ed, records=[ArrivalRecord(hour(10, 0), 2, "l")], source="a.csv", now=NOW)
    summary = services.arrivals_ingest(
        department=ed, records=[ArrivalRecord(hour(10, 0), 5, "l")], source="b.csv", now=NOW
    )
    assert summary.updated == 1
    assert WorkloadHour.objects.get(department=ed, hour=hour(10, 0)).arrivals == 5


def test_department_update_queues_a_rebuild_when_the_length_of_stay_model_changes(
    ed, django_capture_on_commit_callbacks
):
    with mock.patch.object(workload_rebuild_task, "delay", autospec=True) as delay:
        with django_capture_on_commit_callbacks(execute=True):
            services.department_update(department=ed, name="Emergency")
        delay.assert_not_called()
        with django_capture_on_commit_callbacks(execute=True):
            services.department_update(department=ed, los_median_hours=8.0)
        delay.assert_called_once_with(ed.id)


def test_workload_rebuild_task_applies_a_new_length_of_stay_model(ed):
    services.arrivals_ingest(
        department=ed,
        records=[ArrivalRecord(hour(10, 0) + timedelta(hours=h), 6, "l") for h in range(48)],
        source="a.csv",
        now=NOW,
    )
    short_census = sum(row[2] for row in workload(ed).values())
    Department.objects.filter(id=ed.id).update(los_median_hours=12.0)
    result = workload_rebuild_task(ed.id)
    assert result["department_id"] == ed.id and result["written"] > 0
    assert sum(row[2] for row in workload(ed).values()) > short_census
    assert workload_rebuild_task(999_999) is None


def test_rebuilding_part_of_the_hours_keeps_a_discharge_on_the_first_hour(ed):
    ingest([encounter_record("a", start=hour(1, 8), end=hour(1, 10))])
    assert workload(ed)[hour(1, 10)] == (0, 1, 0)
    services.workload_rebuild(department=ed, start=hour(1, 10), end=hour(1, 10), now=NOW)
    assert workload(ed)[hour(1, 10)] == (0, 1, 0)


def test_department_update_rebuilds_here_when_no_worker_can_be_reached(ed, django_capture_on_commit_callbacks):
    services.arrivals_ingest(department=ed, records=[ArrivalRecord(hour(10, 0), 20, "l")], source="a.csv", now=NOW)
    before = workload(ed)
    broker_down = mock.patch.object(workload_rebuild_task, "delay", autospec=True, side_effect=ConnectionError("down"))
    with broker_down, django_capture_on_commit_callbacks(execute=True):
        services.department_update(department=ed, los_median_hours=1.0, los_sigma=0.1)
    assert workload(ed) != before


def test_department_update_refuses_fields_that_cannot_change(ed):
    with pytest.raises(TypeError):
        services.department_update(department=ed, code="ZZ")


def test_department_create_applies_unit_defaults_and_validates(db):
    icu = services.department_create(code="icu2", name="Second ICU", unit_type="icu", min_nurses=3)
    assert (icu.code, icu.patients_per_nurse, icu.min_nurses) == ("ICU2", 2, 3)
    with pytest.raises(ValidationError) as raised:
        services.department_create(code="bad code!", name="x", unit_type="ed", timezone="Mars/Base")
    assert "code" in raised.value.message_dict and "timezone" in raised.value.message_dict


def test_nurses_required_follows_the_ratio_and_the_minimum(ed):
    assert [ed.nurses_required(census) for census in (0, 4, 5, 9, 40)] == [2, 2, 2, 3, 10]


def test_the_current_hour_before_its_row_counts_the_patients_still_here(ed):
    # Two still here, one who left at 00:30.
    ingest(
        [
            encounter_record("still-1", start=hour(19, 22)),
            encounter_record("still-2", start=hour(19, 23, 40)),
            encounter_record("left", start=hour(19, 21), end=hour(20, 0, 30)),
        ]
    )
    assert max(workload(ed)) == NOW
    # Three hours on, nothing has written those hours (no event, no refresh yet): the patients are
    # there all the same, as the hourly refresh then stores them.
    later = hour(20, 3, 10)
    assert hour(20, 3) not in workload(ed)
    assert services.workload_hour_compute(department=ed, hour=hour(20, 3)) == (0, 0, 2)
    assert services.workload_hour_now(ed, now=later) == (0, 2)
    services.workload_refresh_recent(hours=6, now=later)
    assert workload(ed)[hour(20, 3)] == (0, 0, 2)
    assert services.workload_hour_now(ed, now=later) == (0, 2)


def test_an_hour_the_data_do_not_reach_has_no_census(ed):
    assert services.workload_hour_now(ed, now=NOW) is None  # no data at all
    ingest([encounter_record("left", start=hour(19, 21), end=hour(19, 23, 30))])
    # Nobody still here and nothing recorded since: unknown (the feed may have stopped), not zero.
    assert services.workload_hour_now(ed, now=NOW) is None
    assert services.workload_hour_compute(department=ed, hour=hour(19, 23)) == (0, 1, 1)


def test_workload_refresh_extends_the_census_of_patients_still_in_the_unit(ed):
    ingest([encounter_record("still-here", start=hour(19, 22))])  # in progress at NOW = day 20 00:00
    assert max(workload(ed)) == hour(20, 0)
    later = hour(20, 3)
    change = services.workload_refresh_recent(hours=6, now=later)
    assert change.written == 3
    assert workload(ed)[hour(20, 3)] == (0, 0, 1)
    assert services.workload_refresh_recent(hours=6, now=later).written == 0
