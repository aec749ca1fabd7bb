from rest_framework.permissions import DjangoModelPermissions


class ModelPermissions(DjangoModelPermissions):
    """The role's model permissions, reads included (DRF's default lets any user read).

    Which rows a user sees is decided separately, by scoping every queryset to the
    departments visible to them (selectors.departments_visible_to).
    """

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }

    def _queryset(self, view):
        # Only its model matters here. A view that declares `queryset` (as Model.objects.none()) names
        # it without building the scoped query of get_queryset(), which the view makes again for its rows.
        declared = getattr(view, "queryset", None)
        return declared if declared is not None else super()._queryset(view)


class EncounterUpsertPermission(ModelPermissions):
    """A batch both creates and changes encounters."""

    perms_map = {
        **ModelPermissions.perms_map,
        "POST": ["%(app_label)s.add_%(model_name)s", "%(app_label)s.change_%(model_name)s"],
    }
