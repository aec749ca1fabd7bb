from healthcare.encounters.api.permissions import ModelPermissions


class ActivatePermission(ModelPermissions):
    """Activating a version changes it: POST needs the change permission (admins)."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.change_%(model_name)s"]}
