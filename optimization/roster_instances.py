"""The public shift-scheduling benchmark format (Curtois & Qu, schedulingbenchmarks.org). Plain Python.

`instance_read` turns an instance file into the product's own RosterProblem, so the benchmark is
solved by the same engine the wards use; `solution_rows` gives the `employee,day,shift` rows of a
roster. Errors name the line.
"""

from collections.abc import Iterable
from pathlib import Path

from optimization.contracts import (
    Assignment,
    Contract,
    CoverNeed,
    Nurse,
    RosterProblem,
    ShiftRequest,
    ShiftType,
)

SECTIONS = (
    "SECTION_HORIZON",
    "SECTION_SHIFTS",
    "SECTION_STAFF",
    "SECTION_DAYS_OFF",
    "SECTION_SHIFT_ON_REQUESTS",
    "SECTION_SHIFT_OFF_REQUESTS",
    "SECTION_COVER",
)


class InstanceError(ValueError):
    """An instance file that cannot be read; the message names the file and the line."""


def _sections(path: Path) -> dict[str, list[tuple[int, list[str]]]]:
    sections: dict[str, list[tuple[int, list[str]]]] = {}
    current = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("SECTION_"):
            if line not in SECTIONS:
                raise InstanceError(f"{path.name}, line {number}: unknown section {line}")
            current = sections.setdefault(line, [])
            continue
        if current is None:
            raise InstanceError(f"{path.name}, line {number}: data before the first section")
        current.append((number, [part.strip() for part in line.split(",")]))
    missing = [name for name in ("SECTION_HORIZON", "SECTION_SHIFTS", "SECTION_STAFF") if name not in sections]
    if missing:
        raise InstanceError(f"{path.name}: missing {', '.join(missing)}")
    return sections


def _int(path: Path, number: int, value: str, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InstanceError(f"{path.name}, line {number}: {what} {value!r} is not a whole number") from None


def _fields(path: Path, number: int, parts: list[str], count: int, what: str) -> list[str]:
    if len(parts) < count:
        raise InstanceError(f"{path.name}, line {number}: a {what} line has {count} fields, found {len(parts)}")
    return parts


def instance_read(path: str | Path) -> RosterProblem:
    """Read an instance file into a RosterProblem. Raises InstanceError naming the line."""
    path = Path(path)
    sections = _sections(path)
    number, parts = sections["SECTION_HORIZON"][0]
    days = _int(path, number, parts[0], "horizon")
    shift_types = []
    for number, parts in sections["SECTION_SHIFTS"]:
        code, minutes, forbidden = _fields(path, number, parts, 3, "shift")[:3]
        followers = frozenset(part for part in forbidden.split("|") if part)
        shift_types.append(ShiftType(code, _int(path, number, minutes, "minutes"), followers))
    days_off: dict[str, set[int]] = {}
    for number, parts in sections.get("SECTION_DAYS_OFF", []):
        days_off.setdefault(parts[0], set()).update(_int(path, number, day, "day") for day in parts[1:] if day)
    nurses = []
    for number, parts in sections["SECTION_STAFF"]:
        nurse_id, max_shifts, *numbers = _fields(path, number, parts, 8, "staff")[:8]
        limits = {}
        for item in max_shifts.split("|"):
            code, _, limit = item.partition("=")
            limits[code] = _int(path, number, limit, f"most {code} shifts")
        max_minutes, min_minutes, max_consecutive, min_consecutive, min_days_off, max_weekends = (
            _int(path, number, value, "limit") for value in numbers
        )
        contract = Contract(
            max_shifts=limits,
            min_minutes=min_minutes,
            max_minutes=max_minutes,
            max_consecutive=max_consecutive,
            min_consecutive=min_consecutive,
            min_days_off=min_days_off,
            max_weekends=max_weekends,
        )
        nurses.append(Nurse(nurse_id, contract, frozenset(days_off.get(nurse_id, ()))))
    requests = []
    for section, wanted in (("SECTION_SHIFT_ON_REQUESTS", True), ("SECTION_SHIFT_OFF_REQUESTS", False)):
        for number, parts in sections.get(section, []):
            nurse_id, day, code, weight = _fields(path, number, parts, 4, "request")[:4]
            requests.append(
                ShiftRequest(
                    nurse_id, _int(path, number, day, "day"), code, _int(path, number, weight, "weight"), wanted
                )
            )
    cover = []
    for number, parts in sections.get("SECTION_COVER", []):
        day, code, required, under, over = _fields(path, number, parts, 5, "cover")[:5]
        cover.append(
            CoverNeed(
                day=_int(path, number, day, "day"),
                shift=code,
                required=_int(path, number, required, "requirement"),
                under_weight=_int(path, number, under, "weight for under"),
                over_weight=_int(path, number, over, "weight for over"),
            )
        )
    try:
        return RosterProblem(
            days=days,
            shift_types=tuple(shift_types),
            nurses=tuple(nurses),
            cover=tuple(cover),
            requests=tuple(requests),
        )
    except ValueError as exc:
        raise InstanceError(f"{path.name}: {exc}") from None


def solution_rows(problem: RosterProblem, assignment: Assignment) -> Iterable[tuple[str, int, str]]:
    """(employee, day, shift) for every worked day, nurses in the instance's order, days counted from 0."""
    for nurse in problem.nurses:
        for day in range(problem.days):
            code = assignment.get((nurse.id, day))
            if code is not None:
                yield nurse.id, day, code
