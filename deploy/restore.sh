#!/usr/bin/env bash
# Restore a dump made by backup.sh into a database, then check what arrived.
#
#   deploy/restore.sh [--force] [--manage PATH/manage.py] DUMP [TARGET_URL]
#
# TARGET_URL (postgres://user:pass@host:5432/name) defaults to DATABASE_URL, else libpq's PG*
# variables. The target database must exist (createdb it first). It must be empty: a database
# that already has tables is refused (exit 3) unless --force, which drops its `public` schema and
# everything in it first. The restore is one transaction: it lands whole or not at all.
# Afterwards every table of the dump must exist in the target; the row counts are printed, and with
# --manage, `manage.py migrate --check` (run by $PYTHON, default python3, with DATABASE_URL set to
# the target) must find no migration left to apply for this code.
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

force=false
manage=""
positional=()
while [ $# -gt 0 ]; do
  case $1 in
    --force) force=true; shift ;;
    --manage) manage=${2:?--manage needs the path of manage.py}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "restore: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
if [ ${#positional[@]} -lt 1 ] || [ ${#positional[@]} -gt 2 ]; then
  usage >&2
  exit 2
fi
dump=${positional[0]}
target_url=${positional[1]:-${DATABASE_URL:-}}

connection=()
if [ -n "$target_url" ]; then
  case $target_url in
    postgres://*|postgresql://*) connection=(--dbname "$target_url") ;;
    *) echo "restore: the target is not a PostgreSQL URL (postgres://...)" >&2; exit 2 ;;
  esac
fi
sql() { psql "${connection[@]}" --no-psqlrc -v ON_ERROR_STOP=1 -qAt "$@"; }

[ -r "$dump" ] || { echo "restore: cannot read $dump" >&2; exit 2; }
toc=$(pg_restore --list "$dump") || { echo "restore: $dump is not a pg_dump custom-format archive" >&2; exit 2; }

database=$(sql -c "SELECT current_database()")
existing=$(sql -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                     AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                     AND n.nspname NOT LIKE 'pg_toast%'")
if [ "$existing" -gt 0 ]; then
  if [ "$force" != true ]; then
    echo "restore: database $database is not empty ($existing tables, views or sequences); refusing to" \
      "overwrite it. Restore into a new database, or pass --force to drop its public schema first." >&2
    exit 3
  fi
  echo "restore: --force: dropping schema public of $database ($existing objects)" >&2
  sql -c "DROP SCHEMA public CASCADE" -c "CREATE SCHEMA public"
fi

# Owners and grants of the source server may not exist here: objects belong to the restoring user.
pg_restore "${connection[@]}" --no-owner --no-privileges --exit-on-error --single-transaction "$dump"

# Every table in the archive must now exist; count its rows.
tables=$(printf '%s\n' "$toc" | awk '$4 == "TABLE" && $5 != "DATA" { print $5 "." $6 }')
missing=0
total_rows=0
table_count=0
while read -r table; do
  [ -n "$table" ] || continue
  if [ "$(sql -c "SELECT to_regclass('$table') IS NOT NULL")" != t ]; then
    echo "restore: table $table of the dump is missing in $database" >&2
    missing=$((missing + 1))
    continue
  fi
  rows=$(sql -c "SELECT count(*) FROM $table")
  printf '%10s  %s\n' "$rows" "$table"
  total_rows=$((total_rows + rows))
  table_count=$((table_count + 1))
done <<< "$tables"
if [ "$missing" -gt 0 ]; then
  echo "restore: $missing table(s) missing after the restore" >&2
  exit 4
fi
echo "restore: $table_count tables, $total_rows rows restored into $database"

if [ -n "$manage" ]; then
  if [ -z "$target_url" ]; then
    echo "restore: --manage needs the target as a URL (argument or DATABASE_URL)" >&2
    exit 2
  fi
  DATABASE_URL=$target_url "${PYTHON:-python3}" "$manage" migrate --check --no-input
  echo "restore: migrate --check: the schema matches this code's migrations"
fi
