"""The staffing rules a department plans with, saved as a new version."""

from django.db import transaction

from healthcare.encounters.models import Department
from healthcare.encounters.services.departments import department_update
from optimization.models import StaffingRuleSet


def staffing_rules_save(
    *, department: Department, patients_per_nurse: int, min_nurses: int, **rule_fields
) -> StaffingRuleSet:
    """Change a department's ratio, minimum and staffing rules together, or none of them.

    Raises ValidationError naming the field. Plans made from now on use the new rules.
    """
    with transaction.atomic():
        # Two admins saving at once: the second waits, then writes over the first as a whole.
        department = Department.objects.select_for_update().get(pk=department.pk)
        department_update(department=department, patients_per_nurse=patients_per_nurse, min_nurses=min_nurses)
        ruleset = StaffingRuleSet.objects.filter(department=department).first() or StaffingRuleSet(
            department=department
        )
        for name, value in rule_fields.items():
            setattr(ruleset, name, value)
        ruleset.full_clean()
        ruleset.save()
    return ruleset
