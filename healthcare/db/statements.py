"""Statements of hot paths compiled by the ORM once per database connection instead of once per call.

Each API request reads its user's row by primary key, each audited one inserts an audit row, and
each live event reads its department's data bounds in one statement of seven subqueries. Building
and compiling such fixed-shape statements costs more than running them; docs/performance.md has
the paired measurement that keeps this module (PUBLIC_API_FOR=statements runs the querysets and
save() instead). The SQL still comes from Django's compilers, once per database connection, and
values still go through the fields' and the backend's conversions: what is read and written is
exactly what the querysets and save() give.
"""

from collections.abc import Callable
from typing import NamedTuple
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.sql import InsertQuery
from django.db.models.sql.compiler import SQLCompiler

# Stand-ins for the primary keys while compiling: no table holds such ids, and they stay within a
# 32-bit AutoField's range (Django compiles an out-of-range equality to "no rows", not to SQL).
_SENTINELS = tuple(-2_147_480_000 - number for number in range(1, 9))


class _Compiled(NamedTuple):
    sql: str
    params: list  # as compiled: the stand-ins where the keys go
    slots: list[int | None]  # per parameter, the key it takes, or None for a constant
    compiler: SQLCompiler  # applies the converters, with its connection
    converters: dict
    names: list[str | None]


class Statement:
    """A read whose SQL depends on nothing but primary keys: `Statement(build).rows(*pks)` is
    list(build(*pks).values_list(...)) as build's queryset selects, converted as the ORM converts.

    build(*pks) returns the queryset; it is called once per connection (each thread has its own),
    with stand-ins, and every parameter of its SQL other than the keys must be a constant (status
    lists, say).
    """

    def __init__(self, build: Callable[..., QuerySet], *, keys: int = 1):
        if not 1 <= keys <= len(_SENTINELS):
            raise ValueError(f"keys: 1 to {len(_SENTINELS)}")
        self.build = build
        self.keys = keys
        # Per connection, so per thread: the compiler and its converters belong to the connection.
        self._compiled: WeakKeyDictionary = WeakKeyDictionary()

    def _compile(self, using: str) -> _Compiled:
        stand_ins = _SENTINELS[: self.keys]
        compiler = self.build(*stand_ins).query.get_compiler(using)
        sql, params = compiler.as_sql()
        slots = [stand_ins.index(param) if isinstance(param, int) and param in stand_ins else None for param in params]
        if set(range(self.keys)) - set(slots):
            raise ValueError(f"every key must be a parameter of the statement; parameters: {params}")
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        names = [alias for _, _, alias in compiler.select]
        return _Compiled(sql, list(params), slots, compiler, converters, names)

    def _compiled_for(self, using: str) -> _Compiled:
        connection = connections[using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(using)
        return compiled

    def names(self, *, using: str = DEFAULT_DB_ALIAS) -> list[str | None]:
        """The names of the selected values (as values() and values_list() name them); None for a model's columns."""
        return self._compiled_for(using).names

    def rows(self, *pks, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
        if len(pks) != self.keys:
            raise TypeError(f"expected {self.keys} primary key(s), got {len(pks)}")
        compiled = self._compiled_for(using)
        bound = [
            param if slot is None else pks[slot] for param, slot in zip(compiled.params, compiled.slots, strict=True)
        ]
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, bound)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        return [tuple(row) for row in rows]


class RowByPk:
    """model's row by primary key: `RowByPk(User).get(pk)` is User.objects.get(pk=pk), or None."""

    def __init__(self, model: type[Model]):
        self.model = model
        self._statement = Statement(lambda pk: model._base_manager.filter(pk=pk))
        # The default columns of a model's query, in the order from_db() takes them.
        self._attnames = [field.attname for field in model._meta.concrete_fields]

    def get(self, pk, *, using: str = DEFAULT_DB_ALIAS) -> Model | None:
        # The field's own preparation of the lookup value, as filter(pk=...) does (a ValueError if it is none).
        value = self.model._meta.pk.get_db_prep_value(pk, connections[using])
        rows = self._statement.rows(value, using=using)
        return self.model.from_db(using, self._attnames, rows[0]) if rows else None


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
