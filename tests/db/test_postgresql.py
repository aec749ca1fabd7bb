"""healthcare.db.postgresql: timestamps parsed in C read back exactly as Django's own loader reads them."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

from healthcare.encounters.models import Department
from tests.factories import department_make

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MOMENTS = [
    "2026-11-26 17:42:46+00",
    "2026-03-29 01:59:59.999999+00",
    "2024-02-29 23:00:00.5+05:30",  # an offset: the value is shifted to the session's UTC by PostgreSQL
    "1999-12-31 23:59:59.000001-08",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def _read(sql: str, params=None, *, django_loader: bool) -> list:
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(connection.timezone, cursor.cursor)  # Django's own, on this cursor only
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def test_connections_use_the_c_parsing_loader():
    from psycopg.pq import Format

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)
    assert loader.__name__ == "FastTzLoader"
    assert loader.timezone is connection.timezone


def test_timestamps_read_as_djangos_loader_reads_them():
    sql = "SELECT moment::timestamptz FROM unnest(%s::text[]) AS moment"
    fast = _read(sql, [MOMENTS], django_loader=False)
    reference = _read(sql, [MOMENTS], django_loader=True)
    assert fast == reference
    assert [value.tzinfo for value in fast] == [value.tzinfo for value in reference]
    assert fast[0] == datetime(2026, 11, 26, 17, 42, 46, tzinfo=UTC)
    assert fast[2] == datetime(2024, 2, 29, 17, 30, 0, 500000, tzinfo=UTC)
    assert all(value.tzinfo is UTC for value in fast)


def test_models_read_the_same_moments_they_stored():
    moment = datetime(2026, 7, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-4)))
    department = department_make(code="TSTZ")
    Department.objects.filter(pk=department.pk).update(created_at=moment)
    assert Department.objects.get(pk=department.pk).created_at == moment


def test_infinity_is_refused_as_djangos_loader_refuses_it():
    for django_loader in (False, True):
        with pytest.raises(DataError):
            _read("SELECT 'infinity'::timestamptz", django_loader=django_loader)


def test_a_query_run_often_is_prepared_once_on_its_connection():
    connection.ensure_connection()
    assert connection.connection.prepare_threshold == 5
    for _ in range(7):
        Department.objects.filter(code="NONE").exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%encounters_department%"]
        )
        assert cursor.fetchone()[0] >= 1
