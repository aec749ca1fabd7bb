"""Roles are groups with explicit permissions, kept in sync after every migrate.

staff: read the departments they are members of. integrator: also write patient-flow
data (to their departments). admin: every department, their rules, users and roles, and the
audit trail. nurse: her own page only. ops: metrics and health detail only (no patient-flow data).
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission

# Forecasts and staffing plans: everyone who plans staffing may read and request them;
# admins manage model and policy versions and the staffing rules.
FORECAST_READ = [
    "predictions.view_forecast",
    "predictions.add_forecast",
    "predictions.view_forecastmodel",
    "optimization.view_optimizationrun",
    "optimization.add_optimizationrun",
    "optimization.view_staffingpolicy",
    "optimization.view_staffingruleset",
    "monitoring_app.view_alert",
    "monitoring_app.change_alert",
]

# Who is on duty: everyone who plans staffing records call-ins, releases and absences and reads
# them; charge nurses and admins also put a plan in force (integrators only record).
DUTY_RECORD = [
    "optimization.view_dutychange",
    "optimization.add_dutychange",
    "optimization.change_dutychange",
]
PLAN_IN_FORCE = ["optimization.change_optimizationrun"]

# Named staff: everyone who plans staffing reads the nurses, contracts and skills of their departments
# and records shift requests and leave; a workforce system (integrator) also keeps the nurses up to date;
# admins also manage contracts, skills and the skill mix.
STAFF_READ = [
    "optimization.view_nurse",
    "optimization.view_contract",
    "optimization.view_skill",
    "optimization.view_skillcover",
    "optimization.view_leave",
    "optimization.view_shiftrequest",
]
STAFF_RECORD = [
    "optimization.add_shiftrequest",
    "optimization.change_shiftrequest",
    "optimization.delete_shiftrequest",
    "optimization.add_leave",
    "optimization.change_leave",
    "optimization.delete_leave",
]
STAFF_NURSES = ["optimization.add_nurse", "optimization.change_nurse"]

# Rosters of named nurses and call-ins offered: everyone who plans staffing reads them; charge nurses and
# admins solve rosters, put them in force and offer call-ins (integrators read).
ROSTER_READ = ["optimization.view_namedroster", "optimization.view_callinoffer"]
ROSTER_PLAN = [
    "optimization.add_namedroster",
    "optimization.change_namedroster",
    "optimization.add_callinoffer",
    "optimization.change_callinoffer",
]
STAFF_MANAGE = [
    "optimization.delete_nurse",
    "optimization.add_contract",
    "optimization.change_contract",
    "optimization.add_skill",
    "optimization.change_skill",
    "optimization.add_skillcover",
    "optimization.change_skillcover",
    "optimization.delete_skillcover",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "staff": [
        "encounters.view_department",
        "encounters.view_encounter",
        "encounters.view_workloadhour",
        "encounters.view_arrivalcount",
        *FORECAST_READ,
        *DUTY_RECORD,
        *PLAN_IN_FORCE,
        *STAFF_READ,
        *STAFF_RECORD,
        *ROSTER_READ,
        *ROSTER_PLAN,
    ],
    "integrator": [
        "encounters.view_department",
        "encounters.view_encounter",
        "encounters.add_encounter",
        "encounters.change_encounter",
        "encounters.view_workloadhour",
        "encounters.view_arrivalcount",
        "encounters.add_arrivalcount",
        "encounters.change_arrivalcount",
        *FORECAST_READ,
        *DUTY_RECORD,
        *STAFF_READ,
        *STAFF_RECORD,
        *STAFF_NURSES,
        *ROSTER_READ,
    ],
    "admin": [
        "encounters.view_all_departments",
        "encounters.view_department",
        "encounters.add_department",
        "encounters.change_department",
        "encounters.delete_department",
        "encounters.view_encounter",
        "encounters.add_encounter",
        "encounters.change_encounter",
        "encounters.view_workloadhour",
        "encounters.view_arrivalcount",
        "encounters.add_arrivalcount",
        "encounters.change_arrivalcount",
        *FORECAST_READ,
        *DUTY_RECORD,
        *PLAN_IN_FORCE,
        *STAFF_READ,
        *STAFF_RECORD,
        *STAFF_NURSES,
        *STAFF_MANAGE,
        *ROSTER_READ,
        *ROSTER_PLAN,
        "predictions.change_forecastmodel",
        "optimization.change_staffingpolicy",
        "optimization.add_staffingruleset",
        "optimization.change_staffingruleset",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        # Which provider account signs in as which user; deleting one unlinks it (single sign-on).
        "accounts.view_oidcidentity",
        "accounts.delete_oidcidentity",
        # The HL7 listener's log, and discharges held for an admission that will never come.
        "encounters.view_hl7message",
        "encounters.view_heldadtevent",
        "encounters.delete_heldadtevent",
        "monitoring_app.view_auditevent",
    ],
    # A nurse: her own page only (her shifts, requests and the call-ins offered to her), found through
    # her account's nurse; no department's data.
    "nurse": [],
    # Operations: the product's health and metrics, no patient-flow data and no department.
    "ops": [
        "monitoring_app.view_metrics",
    ],
}


def roles_sync() -> None:
    """Create the role groups and give each exactly the permissions listed above."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for name in names:
            app_label, codename = name.split(".")
            found = list(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
            if not found:
                raise LookupError(f"role {role}: no permission {name}")
            permissions.extend(found)
        group.permissions.set(permissions)


def roles_sync_after_migrate(sender, **kwargs) -> None:
    # post_migrate fires once per app with models, in INSTALLED_APPS order: sync after
    # the last one, when every permission the roles list exists.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender.name == with_models[-1].name:
        roles_sync()
