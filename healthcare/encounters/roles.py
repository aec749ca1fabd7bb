"""Roles are groups with explicit permissions, kept in sync after every migrate.

staff: read the departments they are members of. integrator: also write patient-flow
data (to their departments). admin: every department, their rules, users and roles.
"""

from django.contrib.auth.models import Group, Permission

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "staff": [
        "encounters.view_department",
        "encounters.view_encounter",
        "encounters.view_workloadhour",
        "encounters.view_arrivalcount",
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
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    ],
}


def roles_sync() -> None:
    """Create the role groups and give each exactly the permissions listed above."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for name in names:
            app_label, codename = name.split(".")
            permissions.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)


def roles_sync_after_migrate(sender, **kwargs) -> None:
    # post_migrate fires once per app; sync once, after the app whose permissions we list.
    if sender.label == "encounters":
        roles_sync()
