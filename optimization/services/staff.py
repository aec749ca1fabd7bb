"""Nurses and their shift requests imported from the CSV a workforce system exports.

Every line is checked before anything is written: an unknown department, contract, skill or
shift type names its line and field, and then nothing of the file is stored. A nurse is
matched by employee number and a request by nurse, day and shift, so importing a file again
updates in place.

nurses:   employee_number,display_name,home_department,contract[,skills,float_departments,
          fixed_days_off,takes_oncall,takes_overtime]   (lists separated by '|', weekdays 0-6)
requests: employee_number,day,shift,wanted[,weight]     (day YYYY-MM-DD, wanted yes/no)
"""

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from healthcare.encounters.ingest.records import RecordError
from healthcare.encounters.models import Department
from optimization.models import Contract, Nurse, ShiftRequest, Skill
from optimization.policies import staffing_rules_for
from optimization.ward_shifts import shift_codes

NURSE_COLUMNS = ("employee_number", "display_name", "home_department", "contract")
NURSE_OPTIONAL = ("skills", "float_departments", "fixed_days_off", "takes_oncall", "takes_overtime")
REQUEST_COLUMNS = ("employee_number", "day", "shift", "wanted")
REQUEST_OPTIONAL = ("weight",)
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


@dataclass
class StaffImport:
    created: int = 0
    updated: int = 0
    errors: list[RecordError] = field(default_factory=list)


class _Line:
    """One CSV line with its location, collecting its errors."""

    def __init__(self, name: str, number: int, values: dict[str, str], errors: list[RecordError]):
        self.location = f"{name} line {number}"
        self.values = values
        self.errors = errors
        self.ok = True

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def error(self, column: str, message: str) -> None:
        self.errors.append(RecordError(self.location, column, message))
        self.ok = False

    def flag(self, column: str, default: bool) -> bool:
        text = self.get(column).lower()
        if not text:
            return default
        if text in YES | NO:
            return text in YES
        self.error(column, f"'{self.get(column)}' is not yes or no")
        return default


def _lines(path: Path, required: tuple[str, ...], optional: tuple[str, ...], errors) -> Iterator[_Line]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        errors.append(RecordError(path.name, "", f"cannot be read: {exc.strerror}"))
        return
    with handle:
        reader = csv.DictReader(handle)
        header = [column.strip() for column in reader.fieldnames or []]
        missing = [column for column in required if column not in header]
        unknown = [column for column in header if column not in required + optional]
        if missing or unknown:
            problems = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
                [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
            )
            errors.append(RecordError(f"{path.name} line 1", "", "; ".join(problems)))
            return
        reader.fieldnames = header
        try:
            for values in reader:
                if None in values:
                    errors.append(RecordError(f"{path.name} line {reader.line_num}", "", "more values than columns"))
                    continue
                if any((value or "").strip() for value in values.values()):
                    yield _Line(path.name, reader.line_num, values, errors)
        except UnicodeDecodeError:
            errors.append(RecordError(path.name, "", "is not UTF-8 text"))


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split("|") if part.strip()]


def shift_code_check(*, nurse: Nurse, shift: str) -> None:
    """Raise ValidationError (field shift) unless `shift` is one of the nurse's home department's codes."""
    codes = shift_codes(staffing_rules_for(nurse.home_department).shifts)
    if shift not in codes:
        raise ValidationError(
            {"shift": f"unknown shift type '{shift}' in {nurse.home_department.code} ({', '.join(sorted(codes))})"}
        )


def nurses_import(*, path: Path) -> StaffImport:
    """Create or update the nurses of a CSV file, all of them or (on any error) none."""
    result = StaffImport()
    departments = {department.code: department for department in Department.objects.all()}
    contracts = {contract.name: contract for contract in Contract.objects.all()}
    skills = {skill.code: skill for skill in Skill.objects.all()}
    rows, seen = [], {}
    for line in _lines(path, NURSE_COLUMNS, NURSE_OPTIONAL, result.errors):
        number = line.get("employee_number")
        if not number:
            line.error("employee_number", "is empty")
        elif number in seen:
            line.error("employee_number", f"{number} is on line {seen[number]} already")
        seen.setdefault(number, line.location.rsplit(" ", 1)[-1])
        if not line.get("display_name"):
            line.error("display_name", "is empty")
        home = departments.get(line.get("home_department"))
        if home is None:
            line.error("home_department", f"unknown department '{line.get('home_department')}'")
        contract = contracts.get(line.get("contract"))
        if contract is None:
            line.error("contract", f"unknown contract '{line.get('contract')}'")
        unknown_skills = [code for code in _listed(line.get("skills")) if code not in skills]
        if unknown_skills:
            line.error("skills", f"unknown skill(s) {', '.join(unknown_skills)}")
        floats = _listed(line.get("float_departments"))
        unknown_floats = [code for code in floats if code not in departments]
        if unknown_floats:
            line.error("float_departments", f"unknown department(s) {', '.join(unknown_floats)}")
        days_off = []
        for part in _listed(line.get("fixed_days_off")):
            if not part.isdigit() or not 0 <= int(part) <= 6:
                line.error("fixed_days_off", f"'{part}' is not a weekday 0 (Monday) .. 6 (Sunday)")
            else:
                days_off.append(int(part))
        oncall, overtime = line.flag("takes_oncall", True), line.flag("takes_overtime", True)
        if line.ok:
            fields = {
                "display_name": line.get("display_name"),
                "home_department": home,
                "contract": contract,
                "fixed_days_off": sorted(set(days_off)),
                "takes_oncall": oncall,
                "takes_overtime": overtime,
            }
            rows.append((number, fields, [skills[code] for code in _listed(line.get("skills"))], floats))
    if result.errors:
        return result
    with transaction.atomic():
        for number, fields, nurse_skills, floats in rows:
            nurse, created = Nurse.objects.update_or_create(employee_number=number, defaults=fields)
            nurse.skills.set(nurse_skills)
            nurse.float_departments.set([departments[code] for code in floats])
            result.created += created
            result.updated += not created
    return result


def requests_import(*, path: Path) -> StaffImport:
    """Create or update the shift requests of a CSV file, all of them or (on any error) none.

    A request's shift must be one of the nurse's home department's shift codes (D, E, N...).
    """
    result = StaffImport()
    nurses = {nurse.employee_number: nurse for nurse in Nurse.objects.select_related("home_department")}
    rows = []
    for line in _lines(path, REQUEST_COLUMNS, REQUEST_OPTIONAL, result.errors):
        nurse = nurses.get(line.get("employee_number"))
        if nurse is None:
            line.error("employee_number", f"unknown nurse '{line.get('employee_number')}'")
        try:
            day = date.fromisoformat(line.get("day"))
        except ValueError:
            line.error("day", f"'{line.get('day')}' is not a date YYYY-MM-DD")
            day = None
        shift = line.get("shift").upper()
        if nurse is not None:
            try:
                shift_code_check(nurse=nurse, shift=shift)
            except ValidationError as exc:
                line.error("shift", exc.message_dict["shift"][0])
        wanted_text = line.get("wanted").lower()
        if wanted_text not in YES | NO:
            line.error("wanted", f"'{line.get('wanted')}' is not yes or no")
        weight_text = line.get("weight") or "1"
        if not weight_text.isdigit() or not 1 <= int(weight_text) <= 10:
            line.error("weight", f"'{weight_text}' is not a weight 1-10")
        if line.ok:
            rows.append((nurse, day, shift, wanted_text in YES, int(weight_text)))
    if result.errors:
        return result
    with transaction.atomic():
        for nurse, day, shift, wanted, weight in rows:
            _, created = ShiftRequest.objects.update_or_create(
                nurse=nurse, day=day, shift=shift, defaults={"wanted": wanted, "weight": weight}
            )
            result.created += created
            result.updated += not created
    return result
