"""The demo hospital's nurses: contracts, skills, nurses with requests and leave, and a roster of
named nurses solved and put in force for four weeks, so the staff pages have names from the start.

Seeded and reproducible: the same seed gives the same nurses, requests and roster.
"""

import math
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model

from healthcare.encounters.models import Department
from healthcare.encounters.services import Progress
from optimization.call_in_candidates import call_in_candidates
from optimization.models import (
    Contract,
    DutyChangeKind,
    Leave,
    NamedRoster,
    Nurse,
    RunStatus,
    ShiftRequest,
    Skill,
    SkillCover,
)
from optimization.on_duty import duty_change_record
from optimization.services.call_ins import call_in_hours, call_in_offer
from optimization.services.rosters import named_roster_put_in_force, named_roster_request, roster_cover

SKILLS = {
    "rn": "Registered nurse",
    "charge": "Charge nurse",
    "trauma": "Trauma",
    "paediatric": "Paediatric",
    "critical-care": "Critical care",
}
UNIT_SKILL = {"ED": "trauma", "ICU": "critical-care", "MEDSURG": "paediatric"}
# (name, minutes per 28 days: fewest, most; most shifts of each type; most weekends)
CONTRACTS = (
    ("Full time", 17 * 480, 20 * 480, {"D": 20, "E": 20, "N": 10}, 3),
    ("Part time", 9 * 480, 12 * 480, {"D": 12, "E": 12, "N": 6}, 2),
    ("Days only", 15 * 480, 18 * 480, {"D": 18, "E": 18}, 3),
)
# Of every ten nurses: full time, part time, days only.
CONTRACT_MIX = ("Full time",) * 6 + ("Part time",) * 2 + ("Days only",) * 2
ROSTER_DAYS = 28
ROSTER_SECONDS = 20
FIRST_NAMES = [
    "Ada",
    "Bea",
    "Cy",
    "Di",
    "Ed",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jo",
    "Kai",
    "Lea",
    "Mo",
    "Nia",
    "Oli",
    "Pia",
    "Quin",
    "Rae",
    "Sol",
    "Tia",
    "Uma",
    "Vic",
    "Wen",
    "Xia",
    "Yara",
    "Zoe",
    "Amir",
    "Bo",
    "Cleo",
    "Dev",
    "Elin",
    "Finn",
    "Gia",
    "Hugo",
    "Iris",
    "Jun",
    "Kira",
    "Luca",
    "Mei",
    "Noor",
    "Otto",
    "Pru",
    "Rey",
    "Sami",
    "Tove",
    "Ugo",
    "Vera",
    "Wil",
]
LAST_NAMES = [
    "Byrne",
    "Cole",
    "Dunn",
    "Egan",
    "Flynn",
    "Grey",
    "Hale",
    "Ives",
    "Joyce",
    "Kane",
    "Lowe",
    "Moss",
    "Nash",
    "Owen",
    "Park",
    "Quint",
    "Reid",
    "Shaw",
    "Tate",
    "Underwood",
    "Vance",
    "Wade",
    "Yates",
    "Zito",
    "Abbas",
    "Brandt",
    "Costa",
    "Diaz",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Horvat",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
]


def _contracts() -> dict[str, Contract]:
    contracts = {}
    for name, least, most, max_shifts, weekends in CONTRACTS:
        contracts[name], _ = Contract.objects.get_or_create(
            name=name,
            defaults={
                "period_days": 28,
                "min_minutes": least,
                "max_minutes": most,
                "max_shifts": max_shifts,
                "max_consecutive": 5,
                "min_consecutive": 2,
                "min_days_off": 2,
                "max_weekends": weekends,
                "min_rest_hours": 11,
            },
        )
    return contracts


def _nurses_needed(cover: dict[str, int]) -> int:
    """Enough nurses for the cover: the shifts it asks for over an average of 17 shifts a nurse, and a spare tenth."""
    shifts = sum(cover.values()) * 28 / ROSTER_DAYS
    return math.ceil(shifts / 17 * 1.1) + 1


def demo_staff_seed(
    department: Department, *, first_day: date, end: datetime, seed: int, progress: Progress | None = None
) -> NamedRoster | None:
    """Nurses for the department, their requests and leave, and a roster of `ROSTER_DAYS` days from
    `first_day` solved and put in force from its first shift. Skips a department that has nurses."""
    if Nurse.objects.filter(home_department=department).exists():
        return None
    rng = random.Random(f"{seed}:{department.code}")
    skills = {code: Skill.objects.get_or_create(code=code, defaults={"name": name})[0] for code, name in SKILLS.items()}
    SkillCover.objects.get_or_create(department=department, skill=skills["charge"], defaults={"nurses": 1})
    contracts = _contracts()
    cover, source = roster_cover(department, first_day=first_day, days=ROSTER_DAYS, now=end)
    count = _nurses_needed(cover)
    names = rng.sample([f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES], count)
    nurses = []
    for index, name in enumerate(names):
        nurse = Nurse.objects.create(
            employee_number=f"{department.code[:3]}{index + 1:03d}",
            display_name=name,
            home_department=department,
            contract=contracts[CONTRACT_MIX[index % len(CONTRACT_MIX)]],
            fixed_days_off=[rng.choice([5, 6])] if index % 7 == 3 else [],
            takes_oncall=index % 5 != 4,
            takes_overtime=index % 4 != 1,
        )
        unit_skills = [skills["rn"]]
        if index % 4 == 0:
            unit_skills.append(skills["charge"])
        if index % 3 == 0:
            unit_skills.append(skills[UNIT_SKILL.get(department.code, "trauma")])
        nurse.skills.set(unit_skills)
        nurses.append(nurse)
    codes = sorted({key.split(":", 1)[1] for key in cover})
    for nurse in nurses:
        for _ in range(3):
            ShiftRequest.objects.get_or_create(
                nurse=nurse,
                day=first_day + timedelta(days=rng.randrange(ROSTER_DAYS)),
                shift=rng.choice(codes),
                defaults={"wanted": rng.random() < 0.4, "weight": rng.choice([1, 2, 3])},
            )
    for nurse in rng.sample(nurses, 2):
        start = first_day + timedelta(days=rng.randrange(8, ROSTER_DAYS - 5))
        Leave.objects.create(nurse=nurse, first_day=start, last_day=start + timedelta(days=2), reason="annual leave")
    if progress:
        progress(f"{department.code}: {count} nurses; solving a {ROSTER_DAYS}-day roster ({source})")
    roster = named_roster_request(
        department=department,
        first_day=first_day,
        days=ROSTER_DAYS,
        seconds=ROSTER_SECONDS,
        seed=seed,
        cover=cover,
        cover_source=source,
        note="demo roster",
    )
    roster.refresh_from_db()
    if roster.status != RunStatus.SUCCEEDED:
        if progress:
            progress(f"{department.code}: no roster ({roster.failure_reason})")
        return roster
    return named_roster_put_in_force(roster=roster, by=None, now=roster.covers_from)


def demo_call_ins_seed(department: Department, *, end: datetime, seed: int) -> None:
    """A few named call-ins over the last week, so fairness has a history to count."""
    rng = random.Random(f"{seed}:{department.code}:calls")
    zone = ZoneInfo(department.timezone)
    for day_back in (6, 4, 2):
        start = (end - timedelta(days=day_back)).astimezone(zone).replace(hour=17, minute=0, second=0, microsecond=0)
        choice = call_in_candidates(department, starts_at=start, ends_at=start + timedelta(hours=4), now=start)
        if not choice.legal:
            continue
        duty_change_record(
            department=department,
            kind=DutyChangeKind.CALL_IN,
            nurses=1,
            nurse=Nurse.objects.get(pk=rng.choice(choice.legal[:3]).facts.nurse_id),
            starts_at=start,
            hours=4,
            note="demo: accepted a call-in",
            by=None,
            now=start - timedelta(hours=2),
        )


def demo_nurse_accounts_link(*, accounts: dict[str, tuple[str, str]], end: datetime) -> list[str]:
    """Give each demo nurse account (username -> (department code, charge nurse's username)) a nurse of
    that department: the first the ranking would call in now, with that call-in offered to her by the
    charge nurse, so her page shows an offer to answer. Returns what was done, one line each."""
    done = []
    for username, (code, charge_username) in accounts.items():
        user = get_user_model().objects.get(username=username)
        department = Department.objects.filter(code=code).first()
        if department is None or Nurse.objects.filter(user=user).exists():
            continue
        starts_at, ends_at = call_in_hours(department, now=end)
        choice = call_in_candidates(department, starts_at=starts_at, ends_at=ends_at, now=end)
        if not choice.legal:
            continue
        nurse = Nurse.objects.get(pk=choice.legal[0].facts.nurse_id)
        nurse.user = user
        nurse.save(update_fields=["user"])
        charge = get_user_model().objects.get(username=charge_username)
        call_in_offer(department=department, nurse=nurse, by=charge, now=end)
        done.append(f"{username} is {nurse.display_name} ({code}), offered a call-in from {starts_at:%H:00} UTC")
    return done
