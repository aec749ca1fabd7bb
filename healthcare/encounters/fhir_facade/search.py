"""Encounter search (GET /fhir/Encounter?...): parameters -> filtered rows -> a searchset Bundle.

Parameters are handled strictly, as FHIR allows: an unknown parameter, a modifier (patient:missing)
or a value that cannot be read is a 400 listing each, unless the client sends `Prefer:
handling=lenient`, which ignores unknown parameters and modifiers (never unreadable values). An
issue names its parameter as FHIR names HTTP parameters in an OperationOutcome: http.<name>.

A parameter given twice must match both times (date=ge2024-01-01&date=lt2024-02-01); values
separated by commas match any of them (status=arrived,in-progress).
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet
from fhir.resources.R4B.bundle import Bundle

from healthcare.encounters.fhir_facade.resources import (
    ACT_CODE_SYSTEM,
    CLASS_SYSTEM,
    FhirProblem,
    Issue,
    department_code_of,
    encounter_resource,
    encounters_with_fhir_ids,
    fhir_id,
    validated,
)
from healthcare.encounters.ingest.fhir import FHIR_STATUSES, patient_id_of
from healthcare.encounters.models import Encounter
from healthcare.encounters.pseudonym import patient_pseudonymizer

DEFAULT_COUNT = 20
MAX_COUNT = 100
DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")

# The values each parameter takes, as the OpenAPI schema states them (ECMAScript and Python alike).
# Commas separate alternatives; a token's "system|code" has a bar. Neither can be escaped here.
_FREE = r"[^\u0000-\u001f,]+"
_STATUS = "(" + "|".join(sorted(FHIR_STATUSES)) + ")"
_FHIR_ID = r"[A-Za-z0-9\-.]{1,64}"
_TOKEN = r"([^\u0000-\u001f,|]*\|)?[^\u0000-\u001f,|]+"
_LOCATION = rf"(Location/)?{_FHIR_ID}"
DATE_VALUE = (
    r"^(eq|ne|gt|lt|ge|le|sa|eb)?[0-9]{4}(-[0-9]{2}(-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+\-][0-9]{2}:[0-9]{2})?)?)?)?$"
)
PATTERNS = {
    "patient": rf"^{_FREE}(,{_FREE})*$",
    "status": rf"^{_STATUS}(,{_STATUS})*$",
    "class": rf"^{_TOKEN}(,{_TOKEN})*$",
    "date": DATE_VALUE,
    "location": rf"^{_LOCATION}(,{_LOCATION})*$",
    "_id": rf"^{_FHIR_ID}(,{_FHIR_ID})*$",
    "_count": r"^[0-9]+$",
    "_offset": r"^[0-9]+$",
    "_format": r"^(json|application/json|application/fhir\+json)$",
}
# Those a search may repeat (each occurrence narrows it).
REPEATABLE = frozenset({"patient", "status", "class", "date", "location", "_id"})
_DATE = re.compile(
    r"(?P<prefix>[a-z]{2})?(?P<year>[0-9]{4})(-(?P<month>[0-9]{2})(-(?P<day>[0-9]{2})"
    r"(T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(:(?P<second>[0-9]{2})(\.(?P<fraction>[0-9]{1,9}))?)?"
    r"(?P<zone>Z|[+\-][0-9]{2}:[0-9]{2})?)?)?)?"
)


@dataclass
class EncounterSearch:
    """A read search: what to match, which page, and the parameters used (for the Bundle's links)."""

    conditions: list[Q] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    used: list[tuple[str, str]] = field(default_factory=list)


def encounter_search_parse(params: list[tuple[str, str]], *, lenient: bool = False) -> EncounterSearch:
    """The search the query parameters ask for (name, value pairs in their order).

    Raises FhirProblem listing every parameter that cannot be used.
    """
    search = EncounterSearch()
    issues: list[Issue] = []
    seen: set[str] = set()
    zone = ZoneInfo(settings.HOSPITAL_TIME_ZONE)
    for name, value in params:
        base = name.split(":", 1)[0]
        if base not in PATTERNS or ":" in name:
            if not lenient:
                why = "modifiers are not supported" if base in PATTERNS else "not a search parameter of Encounter here"
                issues.append(
                    Issue("not-supported", f"Parameter '{name}': {why} (see /fhir/metadata).", f"http.{name}")
                )
            continue
        if name in seen and name not in REPEATABLE:
            issues.append(Issue("invalid", f"Parameter '{name}' is given more than once.", f"http.{name}"))
            continue
        seen.add(name)
        if not re.fullmatch(PATTERNS[name], value):
            issues.append(Issue("value", _value_hint(name, value), f"http.{name}"))
            continue
        try:
            condition = _condition(name, value, search, zone)
        except FhirProblem as exc:
            issues.extend(exc.issues)
            continue
        if condition is not None:
            search.conditions.append(condition)
        if name not in ("_count", "_offset", "_format"):
            search.used.append((name, value))
    if issues:
        raise FhirProblem(issues)
    return search


def encounter_search_bundle(rows: QuerySet, search: EncounterSearch, *, type_url: str) -> dict:
    """The page of matching rows as a searchset Bundle, with total and self, next and previous links.

    rows: the encounters the caller may see. type_url: the absolute URL of /fhir/Encounter.
    """
    matching = rows
    for condition in search.conditions:
        matching = matching.filter(condition)
    total = matching.count()
    page = []
    if search.count and search.offset < total:
        page = list(
            matching.select_related("department").order_by("-start", "id")[search.offset : search.offset + search.count]
        )
    links = [{"relation": "self", "url": _page_url(type_url, search, search.offset)}]
    if search.count and search.offset + search.count < total:
        links.append({"relation": "next", "url": _page_url(type_url, search, search.offset + search.count)})
    if search.count and search.offset > 0:
        previous = max(0, min(search.offset, total) - search.count)
        links.append({"relation": "previous", "url": _page_url(type_url, search, previous)})
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{type_url}/{fhir_id(encounter)}",
                "resource": encounter_resource(encounter),
                "search": {"mode": "match"},
            }
            for encounter in page
        ],
    }
    return validated(Bundle, bundle)


def _page_url(type_url: str, search: EncounterSearch, offset: int) -> str:
    params = [*search.used, ("_count", str(search.count))]
    if offset:
        params.append(("_offset", str(offset)))
    return f"{type_url}?{urlencode(params)}"


HINTS = {
    "patient": "a patient id, Patient/<id>, or several separated by commas",
    "status": "Encounter statuses separated by commas: " + ", ".join(sorted(FHIR_STATUSES)),
    "class": "class codes (code or system|code) separated by commas",
    "date": "an optional prefix (eq, ne, gt, lt, ge, le, sa, eb) and a date or time: 2024, 2024-01, 2024-01-05 or "
    "2024-01-05T10:00[:00][Z|+01:00] (write + as %2B in a URL)",
    "location": "Location/<id> or <id> (a department's code, with '.' for '_'), or several separated by commas",
    "_id": "FHIR ids separated by commas",
    "_count": "a whole number from 0; more than 100 is read as 100",
    "_offset": "a whole number from 0 (follow the Bundle's next link rather than counting)",
    "_format": "json, application/json or application/fhir+json (the server answers JSON only)",
}


def _value_hint(name: str, value: str) -> str:
    if name == "date" and value[:2].isalpha() and value[:2] not in DATE_PREFIXES:
        prefix = "ap (approximately) is not supported" if value[:2] == "ap" else f"'{value[:2]}' is not a prefix"
        return f"Parameter 'date': {prefix}; the prefixes are {', '.join(DATE_PREFIXES)}."
    return f"Parameter '{name}' takes {HINTS[name]}."


def _condition(name: str, value: str, search: EncounterSearch, zone: tzinfo) -> Q | None:
    """The rows one parameter matches (None: it sets the page, not the rows)."""
    if name == "_count":
        search.count = min(int(value), MAX_COUNT)
        return None
    if name == "_offset":
        search.offset = int(value)
        return None
    if name == "_format":
        return None
    values = value.split(",")
    if name == "status":
        return Q(status__in=values)
    if name == "location":
        return Q(department__code__in=[department_code_of(v.removeprefix("Location/")) for v in values])
    if name == "_id":
        return Q(pk__in=encounters_with_fhir_ids(Encounter.objects.all(), values).values("pk"))
    if name == "patient":
        return _patient_condition(values)
    if name == "class":
        return _class_condition(values)
    return _date_condition(value, zone)


def _patient_condition(values: list[str]) -> Q:
    pseudonymize = patient_pseudonymizer(settings.PSEUDONYM_KEY)
    keys = []
    for value in values:
        patient_id = patient_id_of(value)
        if patient_id is None:
            raise FhirProblem([Issue("value", f"Parameter 'patient': '{value}' names no patient id.", "http.patient")])
        keys.append(pseudonymize(patient_id))
    return Q(patient_key__in=keys)


def _class_condition(values: list[str]) -> Q:
    """code: that code from any source; system|code: from the source the system names (v3 ActCode: FHIR);
    |code (no system) and systems of no source: nothing, as every stored class has a system."""
    condition = Q(pk__in=[])
    for value in values:
        system, bar, code = value.rpartition("|")
        if not bar:
            condition |= Q(encounter_class=code)
        elif system == ACT_CODE_SYSTEM:
            condition |= Q(source="fhir", encounter_class=code)
        elif system.startswith(CLASS_SYSTEM) and system != CLASS_SYSTEM + "fhir":
            condition |= Q(source=system.removeprefix(CLASS_SYSTEM), encounter_class=code)
    return condition


def _date_condition(value: str, zone: tzinfo) -> Q:
    """FHIR's date search on Encounter.period: the value is the range its precision spans
    (2024-01-05: that whole day, in the hospital's time zone unless the value gives one), and a
    period with no end is ongoing. Each prefix compares the two ranges as FHIR R4 defines it."""
    match = _DATE.fullmatch(value)
    prefix = match["prefix"] or "eq"
    try:
        low, high = _date_range(match, zone)
    except ValueError as exc:
        issue = Issue("value", f"Parameter 'date': '{value}' is not a valid date or time ({exc}).", "http.date")
        raise FhirProblem([issue]) from None
    # The period lies within the range: it starts in it and has ended in it.
    within = Q(start__gte=low, end__isnull=False, end__lt=high)
    # It reaches past the range; it began before it.
    above = Q(end__isnull=True) | Q(end__gte=high)
    below = Q(start__lt=low)
    return {
        "eq": within,
        "ne": ~within,
        "gt": above,
        "lt": below,
        "ge": above | within,
        "le": below | within,
        "sa": Q(start__gte=high),
        "eb": Q(end__isnull=False, end__lt=low),
    }[prefix]


def _date_range(match: re.Match, zone: tzinfo) -> tuple[datetime, datetime]:
    """[low, high) in UTC of a date search value; ValueError for a date or offset that does not exist.

    Ranges beyond what Python's datetime holds (years 1 and 9999) end at its first or last moment.
    """
    fraction = match["fraction"] or ""
    start = datetime(
        int(match["year"]),
        int(match["month"] or 1),
        int(match["day"] or 1),
        int(match["hour"] or 0),
        int(match["minute"] or 0),
        int(match["second"] or 0),
        int(fraction[:6].ljust(6, "0")) if fraction else 0,
        tzinfo=_offset_zone(match["zone"]) or zone,
    )
    try:
        if match["month"] is None:
            end = start.replace(year=start.year + 1)
        elif match["day"] is None and start.month == 12:
            end = start.replace(year=start.year + 1, month=1)
        elif match["day"] is None:
            end = start.replace(month=start.month + 1)
        elif match["hour"] is None:
            end = start + timedelta(days=1)  # wall-clock arithmetic: the next midnight, DST or not
        elif match["second"] is None:
            end = start + timedelta(minutes=1)
        else:
            end = start + timedelta(microseconds=10 ** max(0, 6 - len(fraction)))
        high = end.astimezone(UTC)
    except (ValueError, OverflowError):
        high = datetime.max.replace(tzinfo=UTC)
    try:
        low = start.astimezone(UTC)
    except OverflowError:
        low = datetime.min.replace(tzinfo=UTC)
    return low, high


def _offset_zone(text: str | None) -> tzinfo | None:
    """Z or +hh:mm / -hh:mm as a tzinfo (None when the value gives no zone)."""
    if text is None:
        return None
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours * 60 + minutes > 14 * 60 or minutes > 59:
        raise ValueError(f"{text} is no time zone offset")
    sign = 1 if text[0] == "+" else -1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
