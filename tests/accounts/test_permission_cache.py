"""Cached permission sets (healthcare/accounts/backends.py): read once, forgotten on every change."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from healthcare.accounts import backends
from healthcare.caching import soft_cache
from tests.factories import user_make


def fresh(user):
    """The user as a new request loads it: no permissions remembered on the instance."""
    return get_user_model().objects.get(pk=user.pk)


def permission_queries(user) -> int:
    """Statements one has_perm of a freshly loaded user makes."""
    fresh_user = fresh(user)
    with CaptureQueriesContext(connection) as reads:
        fresh_user.has_perm("encounters.view_encounter")
    return len(reads.captured_queries)


def reader(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def test_a_permission_set_is_read_from_the_database_once_then_from_the_cache(ed_staff):
    assert permission_queries(ed_staff) == 2  # the user's own permissions, then its groups'
    assert permission_queries(ed_staff) == 0
    assert fresh(ed_staff).has_perm("encounters.view_encounter")
    assert not fresh(ed_staff).has_perm("encounters.add_encounter")


def test_a_permission_taken_from_a_role_applies_to_the_next_request(ed_staff):
    client = reader(ed_staff)
    assert client.get("/api/v1/encounters/").status_code == 200
    Group.objects.get(name="staff").permissions.remove(Permission.objects.get(codename="view_encounter"))
    assert client.get("/api/v1/encounters/").status_code == 403


def test_a_new_role_and_a_lost_role_apply_to_the_next_request(ed_staff, ed):
    client = reader(ed_staff)
    batch = {"source": "s", "encounters": []}
    assert client.post("/api/v1/encounters/batch/", batch, format="json").status_code == 403
    ed_staff.groups.add(Group.objects.get(name="integrator"))
    assert client.post("/api/v1/encounters/batch/", batch, format="json").status_code == 400  # allowed; empty
    ed_staff.groups.clear()
    assert client.get("/api/v1/encounters/").status_code == 403


def test_a_permission_given_to_the_user_directly_applies_at_once(ed):
    user = user_make("plain", role="ops")
    assert not fresh(user).has_perm("encounters.view_encounter")
    user.user_permissions.add(Permission.objects.get(codename="view_encounter"))
    assert fresh(user).has_perm("encounters.view_encounter")


def test_becoming_superuser_is_not_hidden_by_the_cached_set(ed_staff):
    assert not fresh(ed_staff).has_perm("encounters.add_department")
    get_user_model().objects.filter(pk=ed_staff.pk).update(is_superuser=True)  # no signal: the key differs
    assert fresh(ed_staff).has_perm("encounters.add_department")


def test_a_deleted_role_takes_its_permissions_along(db, ed):
    role = Group.objects.create(name="temporary")
    role.permissions.add(Permission.objects.get(codename="view_encounter"))
    user = user_make("temp", role="temporary")
    assert fresh(user).has_perm("encounters.view_encounter")
    role.delete()  # the memberships go by cascade, which sends no m2m_changed
    assert not fresh(user).has_perm("encounters.view_encounter")


def test_an_inactive_user_holds_no_permission_whatever_is_cached(ed_staff):
    assert fresh(ed_staff).has_perm("encounters.view_encounter")
    get_user_model().objects.filter(pk=ed_staff.pk).update(is_active=False)
    assert not fresh(ed_staff).has_perm("encounters.view_encounter")


def test_with_the_cache_unreachable_permissions_come_from_the_database(ed_staff):
    down = ConnectionError("redis down")
    with (
        mock.patch("healthcare.caching.cache.get", side_effect=down),
        mock.patch("healthcare.caching.cache.get_many", side_effect=down),
        mock.patch("healthcare.caching.cache.set", side_effect=down),
    ):
        assert permission_queries(ed_staff) == 2
        assert permission_queries(ed_staff) == 2
        assert fresh(ed_staff).has_perm("encounters.view_encounter")


def test_a_cached_set_expires_by_itself(ed_staff, monkeypatch):
    """A replacement of the generation lost to an outage is covered by the entries' own timeout."""
    calls = []
    real_set = soft_cache.set
    monkeypatch.setattr(soft_cache, "set", lambda *a, **kw: calls.append(kw) or real_set(*a, **kw))
    fresh(ed_staff).has_perm("encounters.view_encounter")
    assert calls == [{"timeout": backends.PERMISSIONS_TTL}]
    assert 0 < backends.PERMISSIONS_TTL <= 300


@pytest.mark.django_db(transaction=True)
def test_the_generation_is_replaced_again_after_commit(ed_staff):
    """A reader elsewhere may cache the old set under the first replacement; the one at commit ends it."""
    with transaction.atomic():
        ed_staff.groups.clear()
        during = backends.permissions_generation.current()
    assert backends.permissions_generation.current() != during
