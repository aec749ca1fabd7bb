"""Receivers of the accounts app's signals."""

from healthcare.encounters.services.departments import user_departments_set


def departments_claimed_apply(sender, user, codes, **kwargs) -> None:
    """A single sign-on stated the user's departments: they are a member of exactly those."""
    user_departments_set(user=user, codes=codes)
