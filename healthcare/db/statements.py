"""Statements that every request runs, compiled by the ORM once per process instead of once per call.

Each API request reads its user's row by primary key, and each audited one inserts an audit row.
Building and compiling those two fixed-shape statements cost more than running them (about
0.2 ms each of a 6 ms read). The SQL still comes from Django's compilers, once per database
alias, and the values still go through the fields' and the backend's conversions: the rows read
and written are exactly those of objects.get(pk=...) and save(force_insert=True).
"""

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.sql import InsertQuery


class RowByPk:
    """model's row by primary key: `RowByPk(User).get(pk)` is User.objects.get(pk=pk), or None."""

    def __init__(self, model: type[Model]):
        self.model = model
        self._compiled: dict[str, tuple] = {}

    def _compile(self, using: str) -> tuple:
        compiler = self.model._base_manager.using(using).filter(pk=0).query.get_compiler(using)
        sql, params = compiler.as_sql()
        if list(params) != [0]:
            raise ValueError(f"{self.model.__name__}: expected one parameter, the primary key; got {params}")
        columns = [column for column, _, _ in compiler.select]
        converters = compiler.get_converters(columns)
        attnames = [column.target.attname for column in columns]
        return sql, compiler, converters, attnames

    def get(self, pk, *, using: str = DEFAULT_DB_ALIAS) -> Model | None:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiled = self._compiled[using] = self._compile(using)
        sql, compiler, converters, attnames = compiled
        # The field's own preparation of the lookup value, as filter(pk=...) does (a ValueError if it is none).
        value = self.model._meta.pk.get_db_prep_value(pk, connections[using])
        with connections[using].cursor() as cursor:
            cursor.execute(sql, [value])
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = next(iter(compiler.apply_converters([row], converters)))
        return self.model.from_db(using, attnames, tuple(row))


class RowInsert:
    """INSERT of one instance of a model with an automatic primary key, without RETURNING (the
    instance's pk stays None): what save(force_insert=True) writes, signals aside."""

    def __init__(self, model: type[Model]):
        meta = model._meta
        if not meta.auto_field or meta.pk is not meta.auto_field:
            raise ValueError(f"{model.__name__}: needs an automatic primary key")
        self.model = model
        self.fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        self._sql: dict[str, str] = {}

    def save(self, instance: Model, *, using: str = DEFAULT_DB_ALIAS) -> None:
        connection = connections[using]
        sql = self._sql.get(using)
        if sql is None:
            query = InsertQuery(self.model)
            query.insert_values(self.fields, [instance])
            [(sql, _)] = query.get_compiler(using).as_sql()
            self._sql[using] = sql
        # As the insert compiler prepares them: pre_save (auto_now_add), then the field's db value.
        params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in self.fields]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
