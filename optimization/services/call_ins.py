"""Named call-ins and releases: a call-in offered to a nurse, her answer, volunteering to go home,
and sending a named nurse home.

An offer is made only to a nurse the ranking finds legal for those hours; her acceptance is
checked again (her shifts may have changed since) and records the call-in, which every page of
the department follows live.
"""

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from healthcare.encounters.models import Department
from healthcare.signals import send_on_commit
from optimization.call_in_candidates import call_in_candidates
from optimization.models import CallInOffer, DutyChangeKind, Nurse, OfferStatus, ReleaseVolunteer
from optimization.on_duty import duty_change_record
from optimization.policies import staffing_rules_for
from optimization.roster_in_force import on_duty_at
from optimization.signals import call_in_answered

HOUR = timedelta(hours=1)
# A call-in is for the coming weeks: from a day back (a nurse who came in last night) to this far ahead.
CALL_IN_REACH = timedelta(days=84)


def _next_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + HOUR


def call_in_hours(
    department: Department, *, now: datetime, starts_at: datetime | None = None, hours: int | None = None
):
    """(starts_at, ends_at) of a call-in: by default from the on-call lead time, for the on-call block.

    Raises ValidationError (starts_at) for a start more than a day back or CALL_IN_REACH ahead.
    """
    if starts_at is not None and not now - timedelta(days=1) <= starts_at <= now + CALL_IN_REACH:
        raise ValidationError({"starts_at": f"from a day ago to {CALL_IN_REACH.days} days ahead"})
    rules = staffing_rules_for(department)
    start = _next_hour(starts_at or now + timedelta(hours=rules.oncall_lead_hours))
    return start, start + timedelta(hours=hours or rules.oncall_block_hours)


def _judged(department: Department, nurse: Nurse, starts_at: datetime, ends_at: datetime, now: datetime):
    choice = call_in_candidates(department, starts_at=starts_at, ends_at=ends_at, now=now)
    ranked = next((candidate for candidate in choice.ranked if candidate.facts.nurse_id == nurse.id), None)
    if ranked is None:
        raise ValidationError({"nurse": f"{nurse.display_name} is not a nurse of {department.code} (nor floats to it)"})
    if not ranked.legal:
        raise ValidationError({"nurse": f"{nurse.display_name} may not come: {'; '.join(ranked.reasons)}"})
    return ranked


def call_in_offer(
    *,
    department: Department,
    nurse: Nurse,
    by,
    starts_at: datetime | None = None,
    hours: int | None = None,
    now: datetime | None = None,
) -> CallInOffer:
    """Offer a call-in to a nurse the ranking finds legal for its hours. Raises ValidationError naming the field."""
    now = now or timezone.now()
    start, end = call_in_hours(department, now=now, starts_at=starts_at, hours=hours)
    if start < now.replace(minute=0, second=0, microsecond=0):
        raise ValidationError({"starts_at": "a call-in cannot start in the past"})
    ranked = _judged(department, nurse, start, end, now)
    with transaction.atomic():
        # Locks the nurse's row: two charge nurses offering her the same hours make one offer.
        Nurse.objects.select_for_update().get(pk=nurse.pk)
        if CallInOffer.objects.filter(
            nurse=nurse, status=OfferStatus.OFFERED, starts_at__lt=end, ends_at__gt=start
        ).exists():
            raise ValidationError({"nurse": f"{nurse.display_name} has an open offer for these hours already"})
        offer = CallInOffer.objects.create(
            department=department,
            nurse=nurse,
            starts_at=start,
            ends_at=end,
            pay=ranked.pay,
            cost=ranked.cost,
            recent_call_ins=ranked.facts.recent_call_ins,
            offered_by=by,
        )
        _announce(offer)
    return offer


def _announce(offer: CallInOffer) -> None:
    send_on_commit(
        call_in_answered,
        sender=CallInOffer,
        department_id=offer.department_id,
        offer_id=offer.id,
        nurse=offer.nurse.display_name,
        status=offer.status,
    )


def call_in_offer_answer(*, offer: CallInOffer, accept: bool, by, now: datetime | None = None) -> CallInOffer:
    """The nurse accepts (the call-in is recorded, named) or declines an open offer.

    Raises ValidationError when the offer is no longer open, its hours have begun, or (on
    accepting) she may no longer come.
    """
    now = now or timezone.now()
    with transaction.atomic():
        offer = CallInOffer.objects.select_for_update().select_related("department", "nurse").get(pk=offer.pk)
        if offer.status != OfferStatus.OFFERED:
            raise ValidationError({"status": f"this offer was {offer.get_status_display().lower()} already"})
        if offer.starts_at <= now:
            raise ValidationError({"starts_at": "this call-in's hours have begun: call the charge nurse"})
        if accept:
            _judged(offer.department, offer.nurse, offer.starts_at, offer.ends_at, now)
            offer.duty_change = duty_change_record(
                department=offer.department,
                kind=DutyChangeKind.CALL_IN,
                nurses=1,
                nurse=offer.nurse,
                starts_at=offer.starts_at,
                hours=round((offer.ends_at - offer.starts_at) / HOUR),
                note=f"accepted a call-in ({offer.pay})",
                by=by,
                now=now,
            )
        offer.status = OfferStatus.ACCEPTED if accept else OfferStatus.DECLINED
        offer.answered_at = now
        offer.save(update_fields=["status", "answered_at", "duty_change"])
        _announce(offer)
    return offer


def call_in_offer_withdraw(*, offer: CallInOffer, by, now: datetime | None = None) -> CallInOffer:
    """The charge nurse takes back an offer not yet answered (withdrawing twice keeps the first)."""
    with transaction.atomic():
        offer = CallInOffer.objects.select_for_update().select_related("nurse").get(pk=offer.pk)
        if offer.status == OfferStatus.OFFERED:
            offer.status, offer.answered_at = OfferStatus.WITHDRAWN, now or timezone.now()
            offer.save(update_fields=["status", "answered_at"])
            _announce(offer)
    return offer


def release_volunteer(*, nurse: Nurse, day: date, volunteer: bool = True) -> ReleaseVolunteer | None:
    """A nurse offers (or stops offering) to go home early from her shift of `day`."""
    if not volunteer:
        ReleaseVolunteer.objects.filter(nurse=nurse, day=day).delete()
        return None
    volunteering, _ = ReleaseVolunteer.objects.get_or_create(nurse=nurse, day=day)
    return volunteering


def nurse_release(*, department: Department, nurse: Nurse, by, now: datetime | None = None):
    """Send a named nurse on duty now home until her shift ends. Raises ValidationError when she is not on duty."""
    now = now or timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    on_duty = on_duty_at(department, hour=hour)
    if on_duty is None or nurse not in on_duty.nurses:
        raise ValidationError({"nurse": f"{nurse.display_name} is not on duty in {department.code} now"})
    return duty_change_record(
        department=department,
        kind=DutyChangeKind.RELEASE,
        nurses=1,
        nurse=nurse,
        starts_at=hour,
        note="released early",
        by=by,
        now=now,
    )
