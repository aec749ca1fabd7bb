"""The public shift-scheduling benchmark format read into the product's roster problem, and its errors."""

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from optimization.contracts import roster_check
from optimization.roster_instances import InstanceError, instance_read


@pytest.fixture
def instances(shared_data) -> Path:
    """The public shift-scheduling benchmark instances beside the repository."""
    return shared_data / "nurse_rostering"


SMALL = """# a comment
SECTION_HORIZON
7

SECTION_SHIFTS
E,480,
L,600,E|

SECTION_STAFF
A,E=5|L=2,3000,960,4,1,1,1
B,E=5|L=0,3000,0,4,1,1,1

SECTION_DAYS_OFF
A,0,6
B

SECTION_SHIFT_ON_REQUESTS
A,2,L,3

SECTION_SHIFT_OFF_REQUESTS
B,3,E,2

SECTION_COVER
0,E,1,100,1
1,L,1,100,1
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Instance.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_instance_becomes_shifts_contracts_days_off_requests_and_cover(tmp_path):
    problem = instance_read(write(tmp_path, SMALL))
    assert problem.days == 7
    assert [(shift.code, shift.minutes, shift.not_followed_by) for shift in problem.shift_types] == [
        ("E", 480, frozenset()),
        ("L", 600, frozenset({"E"})),
    ]
    nurse_a, nurse_b = problem.nurses
    assert nurse_a.days_off == {0, 6} and nurse_b.days_off == set()
    contract = nurse_a.contract
    assert (contract.max_shifts, contract.max_minutes, contract.min_minutes) == ({"E": 5, "L": 2}, 3000, 960)
    assert (contract.max_consecutive, contract.min_consecutive, contract.min_days_off, contract.max_weekends) == (
        4,
        1,
        1,
        1,
    )
    assert [(r.nurse, r.day, r.shift, r.weight, r.wanted) for r in problem.requests] == [
        ("A", 2, "L", 3, True),
        ("B", 3, "E", 2, False),
    ]
    assert [(need.day, need.shift, need.required, need.under_weight, need.over_weight) for need in problem.cover] == [
        (0, "E", 1, 100, 1),
        (1, "L", 1, 100, 1),
    ]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (SMALL.replace("L,600,E|", "L,six hundred,E|"), "line 7: minutes 'six hundred' is not a whole number"),
        (SMALL.replace("SECTION_COVER", "SECTION_NOPE"), "line 23: unknown section SECTION_NOPE"),
        (SMALL.replace("0,E,1,100,1", "0,E,1"), "line 24: a cover line has 5 fields, found 3"),
        (SMALL.replace("0,E,1,100,1", "0,X,1,100,1"), "cover of day 0: unknown shift X"),
        (SMALL.replace("A,2,L,3", "C,2,L,3"), "request of unknown nurse C"),
        (SMALL.replace("SECTION_STAFF", "SECTION_DAYS_OFF"), "missing SECTION_STAFF"),
        ("7\n" + SMALL, "line 1: data before the first section"),
    ],
)
def test_a_broken_instance_is_refused_naming_the_line_or_item(tmp_path, broken, message):
    with pytest.raises(InstanceError, match=message):
        instance_read(write(tmp_path, broken))


def test_the_shared_instances_all_read(instances):
    paths = sorted(instances.glob("Instance*.txt"))
    assert len(paths) >= 15
    for path in paths:
        problem = instance_read(path)
        assert problem.days % 7 == 0 and problem.nurses and problem.cover, path.name


def run(*args) -> str:
    out = StringIO()
    call_command("roster_benchmark", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_roster_benchmark_prints_the_figures_and_writes_the_roster(tmp_path, instances):
    solution = tmp_path / "out.csv"
    printed = json.loads(
        run(str(instances / "Instance1.txt"), "--seconds", "20", "--format", "json", "--solution", str(solution))
    )
    assert set(printed) == {"objective", "bound", "seconds", "feasible"}
    assert printed["feasible"] is True and printed["objective"] == 607 and printed["bound"] == 607
    with open(solution, newline="", encoding="utf-8") as rows:
        reader = csv.DictReader(rows)
        assert reader.fieldnames == ["employee", "day", "shift"]
        assignment = {(row["employee"], int(row["day"])): row["shift"] for row in reader}
    problem = instance_read(instances / "Instance1.txt")
    check = roster_check(problem, assignment)
    assert check.feasible and check.penalty == 607


def test_roster_benchmark_plain_solves_the_same_model(tmp_path, instances):
    printed = json.loads(run(str(instances / "Instance1.txt"), "--seconds", "20", "--format", "json", "--plain"))
    assert printed["objective"] == 607 and printed["feasible"] is True


def test_roster_benchmark_names_a_missing_file_and_a_broken_line(tmp_path, instances):
    with pytest.raises(CommandError, match="no such file"):
        run(str(tmp_path / "missing.txt"))
    with pytest.raises(CommandError, match="line 7"):
        run(str(write(tmp_path, SMALL.replace("L,600,E|", "L,x,E|"))))
    with pytest.raises(CommandError, match="--seconds"):
        run(str(instances / "Instance1.txt"), "--seconds", "0")


def test_roster_benchmark_names_the_nurse_whose_contract_no_roster_keeps(tmp_path):
    impossible = SMALL.replace("B,E=5|L=0,3000,0,4,1,1,1", "B,E=1|L=0,3000,960,4,1,1,1")
    with pytest.raises(CommandError, match="nurse B: no roster satisfies most shifts of a type, fewest minutes"):
        run(str(write(tmp_path, impossible)))
