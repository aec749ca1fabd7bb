"""Insert-or-update of many rows at once, as fast as the database allows.

On PostgreSQL the rows are streamed with COPY into a temporary table and merged with
one INSERT ... ON CONFLICT DO UPDATE: no model instances, no giant parameter lists
(Django's bulk_create spends most of its time quoting arrays in Python). Elsewhere
(SQLite, the embedded default) it is bulk_create(update_conflicts=True).
"""

from collections.abc import Sequence

from django.db import connection, models, transaction

BATCH_SIZE = 2000


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


def _copy_upsert(model, rows, fields, unique_fields, update_fields) -> None:
    def column(name: str) -> str:
        return connection.ops.quote_name(model._meta.get_field(name).column)

    table = connection.ops.quote_name(model._meta.db_table)
    staging = connection.ops.quote_name(f"upsert_{model._meta.db_table}")
    columns = ", ".join(column(name) for name in fields)
    conflict = ", ".join(column(name) for name in unique_fields)
    updates = ", ".join(f"{column(name)} = EXCLUDED.{column(name)}" for name in update_fields)
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
