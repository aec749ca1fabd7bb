"""A department's shift patterns as the named roster's shift types. Plain Python.

The headcount plan knows shifts as (start hour, hours); a roster of named nurses needs a code per
shift (D, E, N...) and, per contract, which shift may not follow which the next day for want of
rest. Day d's shift starts on day d at its start hour, so a night shift runs into day d + 1.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from optimization.contracts import ShiftType
from optimization.rules import Shift


def _letter(start_hour: int) -> str:
    if 5 <= start_hour <= 10:
        return "D"
    if 11 <= start_hour <= 18:
        return "E"
    return "N"


def shift_codes(shifts: tuple[Shift, ...]) -> dict[str, Shift]:
    """Code -> shift: D (starting 05-10), E (11-18), N (19-04), with the start hour added where two share a letter."""
    letters = [_letter(shift.start_hour) for shift in shifts]
    codes = {}
    for letter, shift in zip(letters, shifts, strict=True):
        code = letter if letters.count(letter) == 1 else f"{letter}{shift.start_hour:02d}"
        codes[code] = shift
    return codes


def shift_types(shifts: tuple[Shift, ...]) -> tuple[ShiftType, ...]:
    return tuple(ShiftType(code, shift.hours * 60) for code, shift in shift_codes(shifts).items())


def rest_successions(shifts: tuple[Shift, ...], min_rest_hours: int) -> dict[str, frozenset[str]]:
    """Shift code -> the codes that leave less than `min_rest_hours` of rest when worked the next day."""
    codes = shift_codes(shifts)
    forbidden = {}
    for code, shift in codes.items():
        ends = shift.start_hour + shift.hours
        too_soon = frozenset(other for other, then in codes.items() if 24 + then.start_hour - ends < min_rest_hours)
        if too_soon:
            forbidden[code] = too_soon
    return forbidden


def shift_span(shift: Shift, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """When a shift of `day` starts and ends (UTC): at its start hour on the department's clock, for its hours."""
    start = datetime.combine(day, time(shift.start_hour), tzinfo=zone).astimezone(UTC)
    return start, start + timedelta(hours=shift.hours)


def period_span(shifts: tuple[Shift, ...], first_day: date, days: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The hours (UTC) the shifts of days first_day .. first_day + days - 1 span."""
    last_day = first_day + timedelta(days=days - 1)
    starts = [shift_span(shift, first_day, zone)[0] for shift in shifts]
    ends = [shift_span(shift, last_day, zone)[1] for shift in shifts]
    return min(starts), max(ends)
