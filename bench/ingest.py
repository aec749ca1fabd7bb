"""Ingestion speed on PostgreSQL: the UIHC hourly file and 200,000 bulk encounters.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hospital_bench .venv/bin/python bench/ingest.py

The database named in DATABASE_URL is dropped and created afresh. Prints a table of
wall-clock figures. The baseline is a naive per-row upsert (update_or_create) of the
same encounters, measured in the same run on a sample, so the ratio is robust to how
busy the machine is.
"""

import argparse
import csv
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO))
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hospital_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcare.settings")


def fresh_database(url: str) -> None:
    """Drop and create the database of `url`; only ever one named hospital_bench*."""
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not name.startswith("hospital_bench"):
        raise SystemExit(f"refusing to recreate database '{name}': benchmarks only use databases named hospital_bench*")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def synthetic_encounters_csv(path: Path, count: int, seed: int = 1) -> None:
    """count encounters in Synthea's CSV layout, spread over two years and three classes."""
    rng = np.random.default_rng(seed)
    origin = datetime(2023, 1, 1, tzinfo=UTC)
    offsets = np.sort(rng.uniform(0, 2 * 365 * 24, size=count))
    classes = rng.choice(["emergency", "inpatient", "urgentcare"], p=[0.8, 0.1, 0.1], size=count)
    stays = rng.lognormal(np.log(4.0), 0.8, size=count)
    patients = rng.integers(0, count // 2, size=count)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "START", "STOP", "PATIENT", "ENCOUNTERCLASS"])
        for index in range(count):
            start = origin + timedelta(hours=float(offsets[index]))
            stop = start + timedelta(hours=float(stays[index]))
            writer.writerow(
                [
                    f"bench-{index:07d}",
                    start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    stop.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    f"patient-{patients[index]}",
                    classes[index],
                ]
            )


def timed(label: str, function):
    started = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - started
    print(f"  {label}: {elapsed:.2f} s", flush=True)
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=200_000)
    parser.add_argument("--baseline-sample", type=int, default=2_000)
    parser.add_argument("--write-sample", type=int, default=50_000)
    args = parser.parse_args()

    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        sys.exit("bench/ingest.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    fresh_database(url)

    import django

    django.setup()
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from healthcare.encounters.models import Department, Encounter, WorkloadHour

    call_command("migrate", verbosity=0)
    quiet = {"stdout": StringIO(), "stderr": StringIO()}
    print(
        f"PostgreSQL {connection.cursor().connection.info.server_version}, database {connection.settings_dict['NAME']}"
    )

    # 1. The UIHC hourly arrivals file.
    uihc = SHARED_DATA / "uihc_ed_hourly_train.csv"
    call_command(
        "add_department", "ED", "--name", "Emergency", "--unit-type", "ed", "--timezone", "America/Chicago", **quiet
    )
    print(f"UIHC hourly arrivals ({uihc.name}):")
    uihc_first, _ = timed(
        "first import", lambda: call_command("ingest", "arrivals-csv", str(uihc), "--department", "ED", **quiet)
    )
    uihc_again, _ = timed(
        "same file again (no change)",
        lambda: call_command("ingest", "arrivals-csv", str(uihc), "--department", "ED", **quiet),
    )
    uihc_hours = WorkloadHour.objects.filter(department__code="ED").count()

    # 2. Bulk encounters.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "encounters.csv"
        synthetic_encounters_csv(path, args.encounters)
        print(f"{args.encounters:,} synthetic encounters (Synthea CSV layout):")
        bulk_first, _ = timed(
            "first import", lambda: call_command("ingest", "synthea-csv", str(path), "--source", "bench", **quiet)
        )
        stored = Encounter.objects.filter(source="bench").count()
        assert stored == args.encounters, f"stored {stored}"
        bulk_again, _ = timed(
            "same file again (no change)",
            lambda: call_command("ingest", "synthea-csv", str(path), "--source", "bench", **quiet),
        )

    # 3. Baseline: what a naive per-row upsert costs, on a sample of the same rows.
    department = Department.objects.get(code="ED")
    sample = list(Encounter.objects.filter(source="bench").order_by("id")[: args.baseline_sample].values())

    def naive_upsert():
        for row in sample:
            Encounter.objects.update_or_create(
                source="naive",
                source_id=row["source_id"],
                defaults={
                    "patient_key": row["patient_key"],
                    "department": department,
                    "encounter_class": row["encounter_class"],
                    "status": row["status"],
                    "start": row["start"],
                    "end": row["end"],
                    "created_at": row["created_at"],
                    "updated_at": row["updated_at"],
                },
            )

    naive_seconds, _ = timed(f"baseline: naive update_or_create of {len(sample):,} rows (no workload)", naive_upsert)
    naive_rate = len(sample) / naive_seconds
    bulk_rate = args.encounters / bulk_first

    # 4. Why bulk.py streams with COPY: Django's own bulk upsert of the same rows, and ours.
    from django.db import transaction

    from healthcare.encounters.bulk import bulk_upsert
    from healthcare.encounters.services.ingest import ENCOUNTER_FIELDS

    attnames = [Encounter._meta.get_field(name).attname for name in ENCOUNTER_FIELDS]
    stored_rows = Encounter.objects.filter(source="bench").order_by("id")[: args.write_sample].values_list(*attnames)
    rows = [("copy", *row[1:]) for row in stored_rows]
    django_instances = [Encounter(**dict(zip(attnames, ("django", *row[1:]), strict=True))) for row in rows]

    def django_bulk():
        with transaction.atomic():
            Encounter.objects.bulk_create(
                django_instances,
                batch_size=2000,
                update_conflicts=True,
                unique_fields=["source", "source_id"],
                update_fields=["status", "end"],
            )

    def copy_bulk():
        with transaction.atomic():
            bulk_upsert(
                Encounter,
                rows,
                fields=ENCOUNTER_FIELDS,
                unique_fields=["source", "source_id"],
                update_fields=["status", "end"],
            )

    django_seconds, _ = timed(f"Django bulk_create(update_conflicts) of {len(rows):,} rows", django_bulk)
    copy_seconds, _ = timed(f"bulk_upsert (COPY + ON CONFLICT) of {len(rows):,} rows", copy_bulk)

    print()
    print("| measurement | figure | goal |")
    print("| --- | --- | --- |")
    print(f"| UIHC file, first import ({uihc_hours:,} workload hours) | {uihc_first:.2f} s | < 5 s |")
    print(f"| UIHC file, re-import (no change) | {uihc_again:.2f} s | |")
    count = f"{args.encounters:,} encounters"
    print(f"| {count}, first import incl. workload | {bulk_first:.1f} s = {bulk_rate:,.0f}/s | >= 10,000/s |")
    print(f"| {count}, re-import (no change) | {bulk_again:.1f} s = {args.encounters / bulk_again:,.0f}/s | |")
    print(f"| baseline: naive per-row upsert | {naive_rate:,.0f}/s | |")
    print(f"| bulk import vs naive per-row upsert | {bulk_rate / naive_rate:.1f}x | |")
    print(
        f"| write step: COPY upsert vs Django bulk_create, {len(rows):,} rows "
        f"| {django_seconds / copy_seconds:.1f}x faster ({copy_seconds:.2f} s vs {django_seconds:.2f} s) | |"
    )


if __name__ == "__main__":
    main()
