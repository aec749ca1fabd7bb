"""Permission sets cached across requests.

Django's ModelBackend reads a user's permissions (their own, then their groups') with two queries
per request: two of the three statements an API read made before its own. They change only when
an admin edits a role or a user's groups, so they are cached under a generation that every such
change replaces (receivers below). A change made while Redis was unreachable is seen at the latest
when the entries expire, PERMISSIONS_TTL seconds later; access tokens already live 5-15 minutes.
"""

from django.contrib.auth.backends import ModelBackend

from healthcare.caching import Generation

PERMISSIONS_TTL = 60
permissions_generation = Generation("auth:permissions:generation")


class CachedPermissionsBackend(ModelBackend):
    """ModelBackend whose get_all_permissions (behind has_perm and has_module_perms) reads the cache first."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            # A superuser holds every permission whatever their groups: the flag is part of the key.
            key = f"auth:permissions:{user_obj.pk}:{int(user_obj.is_superuser)}"
            token, cached = permissions_generation.read(key)
            if cached is None:
                cached = frozenset(super().get_all_permissions(user_obj))
                permissions_generation.store(key, token, cached, timeout=PERMISSIONS_TTL)
            user_obj._perm_cache = set(cached)
        return user_obj._perm_cache


def permissions_changed(**kwargs) -> None:
    """Receiver: a role or a permission was saved or deleted; forget every cached set."""
    permissions_generation.replace()


def user_created(created: bool, **kwargs) -> None:
    """Receiver (post_save of users): a new user. A reused id (SQLite after a rollback) must not
    find the set of the user who had it."""
    if created:
        permissions_generation.replace()
