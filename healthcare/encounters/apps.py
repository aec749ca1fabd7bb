from django.apps import AppConfig


class EncountersConfig(AppConfig):
    """Departments, encounters and the hourly workload derived from them."""

    name = "healthcare.encounters"
    label = "encounters"
    verbose_name = "Patient flow"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from healthcare.encounters.roles import roles_sync_after_migrate

        # Groups need the permissions that post_migrate creates, so they are synced after it
        # (roles_sync_after_migrate waits for the last app whose permissions they list).
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="encounters.roles_sync")
