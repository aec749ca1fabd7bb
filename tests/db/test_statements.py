"""healthcare.db.statements: statements compiled once read and write exactly what the ORM does."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from healthcare.db.statements import RowByPk, RowInsert, Statement
from healthcare.encounters import services
from healthcare.encounters.models import Department, Encounter
from healthcare.encounters.services.workload import _department_bounds, _department_bounds_statement
from monitoring_app.models import AuditEvent
from tests.factories import department_make, encounter_record, hour

pytestmark = pytest.mark.django_db

FIELDS = [field.attname for field in get_user_model()._meta.concrete_fields]


def test_a_row_by_pk_equals_the_orms_with_every_field_converted(ed_staff):
    User = get_user_model()
    User.objects.filter(pk=ed_staff.pk).update(last_login=timezone.now(), is_staff=True)
    read = RowByPk(User)
    for _ in range(2):  # compiled on the first call, reused on the second
        row = read.get(ed_staff.pk)
        expected = User.objects.get(pk=ed_staff.pk)
        assert type(row) is User and row._state.adding is False and row._state.db == "default"
        assert [getattr(row, name) for name in FIELDS] == [getattr(expected, name) for name in FIELDS]
    assert isinstance(row.last_login, type(expected.last_login)) and row.is_staff is True
    assert read.get(str(ed_staff.pk)).pk == ed_staff.pk  # a token's claim may be text, as filter(pk=) takes it


def test_a_missing_row_is_none_and_a_pk_that_is_no_number_is_refused_as_the_orm_refuses_it(ed_staff):
    read = RowByPk(get_user_model())
    assert read.get(ed_staff.pk + 1000) is None
    with pytest.raises(ValueError, match="expected a number"):
        read.get("five")


def test_each_read_is_one_select_by_pk(ed_staff):
    read = RowByPk(get_user_model())
    read.get(ed_staff.pk)
    with CaptureQueriesContext(connection) as captured:
        read.get(ed_staff.pk)
    [query] = captured.captured_queries
    assert query["sql"].startswith("SELECT") and "auth_user" in query["sql"] and "WHERE" in query["sql"]


def test_a_statement_reads_what_its_queryset_reads_with_values_converted(ed, icu):
    services.encounters_ingest(
        records=[
            encounter_record("closed", start=hour(1, 10, 17), end=hour(1, 13, 2)),
            encounter_record("open", start=hour(2, 9)),
        ],
        source="s",
        now=hour(3, 0),
    )
    empty = department_make(code="TELE", unit_type="telemetry")
    for department in (ed, icu, empty):
        [row] = _department_bounds_statement.rows(department.pk)
        stored = dict(zip(_department_bounds_statement.names(), row, strict=True))
        assert stored == _department_bounds(department.pk).get()
    assert stored["still_here"] is False and stored["first_start"] is None  # the empty department
    [row] = _department_bounds_statement.rows(ed.pk)
    assert dict(zip(_department_bounds_statement.names(), row, strict=True))["first_start"] == hour(1, 10, 17)


def test_a_statement_binds_each_key_where_it_stands(ed, icu):
    services.encounters_ingest(records=[encounter_record("e", start=hour(1, 9))], source="s", now=hour(3, 0))
    both = Statement(
        lambda department_pk, encounter_pk: (
            Encounter.objects.filter(department=department_pk, pk=encounter_pk)
            .exclude(status="cancelled")
            .values_list("source_id")
        ),
        keys=2,
    )
    encounter = Encounter.objects.get()
    assert both.rows(ed.pk, encounter.pk) == [("e",)]
    assert both.rows(icu.pk, encounter.pk) == []
    assert both.names() == ["source_id"]
    assert RowByPk(Department)._statement.names()[0] is None  # a model's own columns are not named
    with pytest.raises(TypeError, match="expected 2"):
        both.rows(ed.pk)


def test_a_statement_refuses_a_key_that_is_no_parameter(ed):
    with pytest.raises(ValueError, match="every key must be a parameter"):
        Statement(lambda pk: Department.objects.filter(code="ED")).rows(ed.pk)


def test_an_insert_writes_what_save_writes(ed_staff):
    def event(**fields):
        return AuditEvent(
            user=ed_staff, username="ed_staff", action="read.encounters", method="GET", outcome=200, **fields
        )

    insert = RowInsert(AuditEvent)
    for ip in ("10.0.0.7", None, "2001:db8::1"):
        saved = event(target=f"/saved/{ip}", ip=ip)
        saved.save(force_insert=True)
        inserted = event(target=f"/inserted/{ip}", ip=ip)
        insert.save(inserted)
        assert inserted.pk is None and inserted.at is not None  # auto_now_add set, as save sets it
        columns = ["user_id", "username", "action", "method", "ip", "outcome"]
        stored = AuditEvent.objects.get(target=f"/inserted/{ip}")
        assert [getattr(stored, name) for name in columns] == [getattr(saved, name) for name in columns]
        assert stored.at == inserted.at


def test_an_insert_needs_an_automatic_primary_key():
    from django.contrib.sessions.models import Session

    with pytest.raises(ValueError, match="automatic primary key"):
        RowInsert(Session)
    assert RowInsert(Department).fields[0].name == "code"


def test_tokens_of_a_deleted_user_are_refused(ed_staff):
    token = str(AccessToken.for_user(ed_staff))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/departments/").status_code == 200
    get_user_model().objects.filter(pk=ed_staff.pk).delete()
    answer = client.get("/api/v1/departments/")
    assert answer.status_code == 401 and answer.json()["code"] == "user_not_found"


@pytest.mark.django_db(transaction=True)
def test_each_thread_compiles_for_its_own_connection(ed_staff):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    read = RowByPk(get_user_model())
    assert read.get(ed_staff.pk).username == "ed_staff"

    def in_a_thread():
        try:
            return read.get(ed_staff.pk).username, read._statement._compiled.get(connections["default"]) is not None
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(in_a_thread).result() == ("ed_staff", True)


def test_tokens_naming_users_by_another_field_are_read_as_simplejwt_reads_them(ed_staff, monkeypatch):
    from rest_framework_simplejwt.settings import api_settings

    monkeypatch.setattr(api_settings, "USER_ID_FIELD", "username")  # RowByPk reads by primary key only
    token = str(AccessToken.for_user(ed_staff))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/departments/").status_code == 200
