"""Insert-or-update of many rows at once, as fast as the database allows.

On PostgreSQL the rows are streamed with COPY into a temporary table and merged with
one INSERT ... ON CONFLICT DO UPDATE: no model instances, no giant parameter lists
(Django's bulk_create spends most of its time quoting arrays in Python). A few rows go
in one parameterized INSERT ... ON CONFLICT instead. Elsewhere
(SQLite, the embedded default) it is bulk_create(update_conflicts=True).
"""

from collections.abc import Sequence

from django.db import connection, models, transaction

BATCH_SIZE = 2000
# Up to this many rows (a live event's few hours), one INSERT ... ON CONFLICT with parameters
# is cheaper than creating a staging table.
SMALL_BATCH = 100


def bulk_upsert(
    model: type[models.Model],
    rows: Sequence[tuple],
    *,
    fields: Sequence[str],
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
) -> None:
    """Store rows (tuples of values in `fields` order, foreign keys as ids).

    A row whose unique_fields match a stored row updates that row's update_fields; the
    rows must not repeat a unique key among themselves.
    """
    if not rows:
        return
    if connection.vendor == "postgresql":
        if len(rows) <= SMALL_BATCH:
            _values_upsert(model, rows, fields, unique_fields, update_fields)
        else:
            _copy_upsert(model, rows, fields, unique_fields, update_fields)
        return
    attnames = [model._meta.get_field(name).attname for name in fields]
    model.objects.bulk_create(
        [model(**dict(zip(attnames, row, strict=True))) for row in rows],
        batch_size=BATCH_SIZE,
        update_conflicts=True,
        unique_fields=list(unique_fields),
        update_fields=list(update_fields),
    )


def _sql_parts(model, fields, unique_fields, update_fields) -> tuple[str, str, str, str]:
    """(table, columns, conflict columns, SET clause), quoted."""

    def column(name: str) -> str:
        return connection.ops.quote_name(model._meta.get_field(name).column)

    return (
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(column(name) for name in fields),
        ", ".join(column(name) for name in unique_fields),
        ", ".join(f"{column(name)} = EXCLUDED.{column(name)}" for name in update_fields),
    )


def _values_upsert(model, rows, fields, unique_fields, update_fields) -> None:
    table, columns, conflict, updates = _sql_parts(model, fields, unique_fields, update_fields)
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {placeholders} ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
            [value for row in rows for value in row],
        )


def _copy_upsert(model, rows, fields, unique_fields, update_fields) -> None:
    table, columns, conflict, updates = _sql_parts(model, fields, unique_fields, update_fields)
    staging = connection.ops.quote_name(f"upsert_{model._meta.db_table}")
    with transaction.atomic(), connection.cursor() as cursor:
        # Same column types as the target table, no constraints, gone at commit.
        cursor.execute(f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {staging} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        )
        cursor.execute(f"DROP TABLE {staging}")
