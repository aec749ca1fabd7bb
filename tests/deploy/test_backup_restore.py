"""deploy/backup.sh and deploy/restore.sh against the real PostgreSQL server: a scratch database with
the product's schema and a few rows is dumped, restored into another one and compared; a non-empty
target is refused unless --force; failures leave no partial dump; old dumps are pruned."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
BACKUP = REPO / "deploy" / "backup.sh"
RESTORE = REPO / "deploy" / "restore.sh"

pytestmark = pytest.mark.postgres


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"] or not url.startswith(
        ("postgres://", "postgresql://")
    ):
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://... (CI does)")
    for tool in ("pg_dump", "pg_restore", "psql"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (Debian: postgresql-client)")
    return url


def _url_of(server_url: str, database: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", "", ""))


def _admin(server_url: str):
    return psycopg.connect(_url_of(server_url, "postgres"), autocommit=True)


def _rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchall()


def _table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        return {name: connection.execute(f'SELECT count(*) FROM public."{name}"').fetchone()[0] for name in tables}


def _manage(url: str, *args: str) -> None:
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": url}
    command = [sys.executable, "manage.py", *args]
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True, timeout=300)


def _run(script: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(script), *args],
        cwd=REPO,
        env={**os.environ, "DEBUG": "true", "PYTHON": sys.executable, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def scratch():
    """Makes empty scratch databases hospital_deploy_<name>_<pid>; drops them after the module."""
    server_url = _server_url()
    made = []

    def make(name: str) -> str:
        database = f"hospital_deploy_{name}_{os.getpid()}"
        with _admin(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{database}"')
        made.append(database)
        return _url_of(server_url, database)

    yield make
    with _admin(server_url) as admin:
        for database in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def source(scratch):
    """A database with the product's schema, two departments and a user (made once: migrating takes seconds)."""
    url = scratch("source")
    _manage(url, "migrate", "--no-input")
    _manage(url, "add_department", "ED", "--name", "Emergency", "--unit-type", "ed")
    _manage(url, "add_department", "ICU", "--name", "Intensive care", "--unit-type", "icu")
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO auth_user (username, password, is_superuser, is_staff, is_active, first_name, last_name,"
            " email, date_joined) VALUES ('ops', '!', false, false, true, '', '', '', now())"
        )
    return url


def test_a_backup_restores_into_an_empty_database_with_every_row(source, scratch, tmp_path):
    backup = _run(BACKUP, "--dir", str(tmp_path), env={"DATABASE_URL": source})
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip())
    assert dump.parent == tmp_path and dump.name.startswith(f"{urlsplit(source).path[1:]}-")
    assert dump.name.endswith("Z.dump") and dump.stat().st_mode & 0o077 == 0  # owner-only
    assert not list(tmp_path.glob("*.partial"))

    target = scratch("target")
    restore = _run(RESTORE, "--manage", "manage.py", str(dump), target)
    assert restore.returncode == 0, restore.stderr
    assert "migrate --check: the schema matches" in restore.stdout

    departments = "SELECT code, name, unit_type FROM encounters_department ORDER BY code"
    assert _rows(target, departments) == _rows(source, departments)
    assert [code for code, *_ in _rows(target, departments)] == ["ED", "ICU"]
    assert _table_counts(target) == _table_counts(source)
    assert _rows(target, "SELECT username FROM auth_user") == [("ops",)]


def test_a_database_with_tables_is_not_overwritten_without_force(source, scratch, tmp_path):
    dump = _run(BACKUP, "--dir", str(tmp_path), env={"DATABASE_URL": source}).stdout.strip()
    target = scratch("occupied")
    assert _run(RESTORE, dump, target).returncode == 0
    with psycopg.connect(target) as connection:
        connection.execute("UPDATE encounters_department SET name = 'changed since the backup' WHERE code = 'ED'")

    refused = _run(RESTORE, dump, target)
    assert refused.returncode == 3
    assert "not empty" in refused.stderr and "--force" in refused.stderr
    assert _rows(target, "SELECT name FROM encounters_department WHERE code = 'ED'") == [("changed since the backup",)]

    forced = _run(RESTORE, "--force", dump, target)
    assert forced.returncode == 0, forced.stderr
    assert _rows(target, "SELECT name FROM encounters_department WHERE code = 'ED'") == [("Emergency",)]
    assert _table_counts(target) == _table_counts(source)


def test_a_failed_backup_exits_non_zero_and_leaves_nothing(scratch, tmp_path):
    missing = _url_of(_server_url(), f"hospital_deploy_missing_{os.getpid()}")
    failed = _run(BACKUP, "--dir", str(tmp_path), env={"DATABASE_URL": missing})
    assert failed.returncode != 0
    assert list(tmp_path.iterdir()) == []


def test_restore_refuses_a_file_that_is_not_a_dump(scratch, tmp_path):
    target = scratch("empty")
    bogus = tmp_path / "bogus.dump"
    bogus.write_text("not a dump")
    refused = _run(RESTORE, str(bogus), target)
    assert refused.returncode == 2 and "not a pg_dump custom-format archive" in refused.stderr
    assert _table_counts(target) == {}


def test_dumps_older_than_the_retention_are_removed_after_a_good_backup(scratch, tmp_path):
    url = scratch("retention")
    database = urlsplit(url).path[1:]
    old, recent, other = (
        tmp_path / f"{database}-20200101T000000Z.dump",
        tmp_path / f"{database}-20200102T000000Z.dump",
        tmp_path / "another_database-20200101T000000Z.dump",
    )
    for path, age_days in ((old, 10), (recent, 2), (other, 10)):
        path.write_bytes(b"")
        moment = time.time() - age_days * 86400
        os.utime(path, (moment, moment))

    backup = _run(BACKUP, "--dir", str(tmp_path), "--retention-days", "7", env={"DATABASE_URL": url})
    assert backup.returncode == 0, backup.stderr
    assert not old.exists()
    assert recent.exists() and other.exists() and Path(backup.stdout.strip()).exists()
