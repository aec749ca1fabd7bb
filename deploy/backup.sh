#!/usr/bin/env bash
# Back up the product's PostgreSQL database: one custom-format dump (pg_dump -Fc) with a UTC
# timestamp in its name, checked readable, then dumps older than the retention removed.
#
#   deploy/backup.sh [--dir DIR] [--retention-days N]
#
# Connection: DATABASE_URL (postgres://user:pass@host:5432/name) if set, else libpq's PG* variables
# (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE). Defaults: BACKUP_DIR=./backups,
# BACKUP_RETENTION_DAYS=14. Prints the path of the new dump; exits non-zero if anything failed, and
# then leaves no partial file and deletes nothing. Needs pg_dump, pg_restore and psql of the
# server's major version (15) or newer: the compose `backup` service (postgres:15 image) has them.
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

backup_dir=${BACKUP_DIR:-./backups}
retention_days=${BACKUP_RETENTION_DAYS:-14}
while [ $# -gt 0 ]; do
  case $1 in
    --dir) backup_dir=${2:?--dir needs a directory}; shift 2 ;;
    --retention-days) retention_days=${2:?--retention-days needs a number}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "backup: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case $retention_days in
  ''|*[!0-9]*|0) echo "backup: --retention-days must be a whole number of days, 1 or more" >&2; exit 2 ;;
esac

connection=()
if [ -n "${DATABASE_URL:-}" ]; then
  case $DATABASE_URL in
    postgres://*|postgresql://*) connection=(--dbname "$DATABASE_URL") ;;
    *) echo "backup: DATABASE_URL is not a PostgreSQL URL (postgres://...)" >&2; exit 2 ;;
  esac
fi

# The dump holds patient-flow data (pseudonymized, still confidential): readable by its owner only.
umask 077
mkdir -p "$backup_dir"

database=$(psql "${connection[@]}" --no-psqlrc -qAt -c "SELECT current_database()")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
target="$backup_dir/${database}-${stamp}.dump"
partial="$target.partial"
trap 'rm -f "$partial"' EXIT

pg_dump "${connection[@]}" --format=custom --compress=6 --file="$partial"
# A dump that pg_restore cannot read is no backup.
pg_restore --list "$partial" >/dev/null
mv "$partial" "$target"
trap - EXIT

# Retention: this database's complete dumps older than N days. Only after a good backup, so a run
# of failures never deletes the last good dump.
find "$backup_dir" -maxdepth 1 -type f -name "${database}-*.dump" -mmin +$((retention_days * 1440)) -print \
  | while read -r old; do
      rm -f -- "$old"
      echo "backup: removed $old (older than $retention_days days)" >&2
    done

echo "$target"
