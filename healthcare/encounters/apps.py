from django.apps import AppConfig


class EncountersConfig(AppConfig):
    """Departments, encounters and the hourly workload derived from them."""

    name = "healthcare.encounters"
    label = "encounters"
    verbose_name = "Patient flow"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_migrate

        from healthcare.accounts.signals import departments_claimed
        from healthcare.encounters import receivers
        from healthcare.encounters.models import Department
        from healthcare.encounters.roles import roles_sync_after_migrate
        from healthcare.encounters.selectors import encounters_generation

        # Groups need the permissions that post_migrate creates, so they are synced after it
        # (roles_sync_after_migrate waits for the last app whose permissions they list).
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="encounters.roles_sync")
        departments_claimed.connect(receivers.departments_claimed_apply, dispatch_uid="encounters.departments_claimed")
        # Cached encounter counts are keyed on a user's scope (pagination), which names the user, not their
        # departments.
        m2m_changed.connect(
            encounters_generation.replace_on_m2m_change,
            sender=Department.members.through,
            dispatch_uid="encounters.members",
        )
