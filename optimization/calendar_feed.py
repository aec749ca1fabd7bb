"""A nurse's shifts as an iCalendar feed (RFC 5545, with the icalendar package), for her own calendar app.

The feed holds her shifts of the rosters in force from a week back to twelve weeks ahead and her
accepted call-ins. Its address carries her secret token (Nurse.calendar_token): calendar apps cannot sign in.
"""

from datetime import datetime, timedelta

from icalendar import Calendar, Event

from optimization.call_in_candidates import shifts_in_force
from optimization.models import DutyChange, DutyChangeKind, Nurse

PAST = timedelta(days=7)
AHEAD = timedelta(days=84)


def nurse_calendar(nurse: Nurse, *, now: datetime) -> bytes:
    """Her shifts and accepted call-ins from a week ago to twelve weeks ahead, as an iCalendar file."""
    calendar = Calendar()
    calendar.add("prodid", "-//Hospital Workload//named rosters//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Shifts of {nurse.display_name}")
    for shift in shifts_in_force([nurse.id], first=now - PAST, last=now + AHEAD).get(nurse.id, []):
        event = Event()
        event.add("uid", f"shift-{shift.roster_id}-{nurse.employee_number}-{shift.day:%Y%m%d}@hospital-workload")
        event.add("summary", f"{shift.shift} shift, {shift.roster.department.code}")
        event.add("dtstart", shift.starts_at)
        event.add("dtend", shift.ends_at)
        event.add("dtstamp", now)
        calendar.add_component(event)
    calls = DutyChange.objects.filter(
        nurse=nurse,
        kind=DutyChangeKind.CALL_IN,
        cancelled_at__isnull=True,
        ends_at__gt=now - PAST,
        starts_at__lt=now + AHEAD,
    ).select_related("department")
    for call in calls:
        event = Event()
        event.add("uid", f"call-in-{call.id}@hospital-workload")
        event.add("summary", f"Called in, {call.department.code}")
        event.add("dtstart", call.starts_at)
        event.add("dtend", call.ends_at)
        event.add("dtstamp", now)
        calendar.add_component(event)
    return calendar.to_ical()
