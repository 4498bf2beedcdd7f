#!/bin/sh
# LiteLLM's database backups, run in the gateway's backup-litellm container (the pinned PostgreSQL
# image, for its pg_dump and pg_restore) on the backend network:
#
#   postgres-backup.sh loop             the container's main process: a snapshot at start when the
#                                       newest is older than the interval, then one every interval
#   postgres-backup.sh idle             the main process when scheduled backups are off (backups:
#                                       false): takes nothing by itself, only what is exec'd
#   postgres-backup.sh snapshot LABEL   one snapshot now (LABEL: scheduled or pre-upgrade-<service>);
#                                       the last line of stdout is its record (the sidecar's JSON)
#   postgres-backup.sh list             every snapshot's record, one JSON line each, oldest first
#   postgres-backup.sh restore FILE     pg_restore FILE over LiteLLM's database (LiteLLM stopped)
#   postgres-backup.sh status           one JSON line: the last attempt, success and error
#   postgres-backup.sh check            the healthcheck: fails when the newest scheduled snapshot
#                                       is older than twice the interval
#
# Its settings are beside it (settings.env, written by the stack), and the password in .pgpass
# (0600), which PGPASSFILE names: never in the environment, where `docker inspect` shows it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null # written by the stack (lib/backupFiles.ts)
. "$here/settings.env"
: "${BACKUP_DIR:?settings.env sets BACKUP_DIR}" "${BACKUP_KEEP:?}" "${BACKUP_INTERVAL_SECONDS:?}" "${BACKUP_SCHEDULE:?}"
: "${BACKUP_IMAGE:?}" "${PGHOST:?}" "${PGPORT:?}" "${PGUSER:?}" "${PGDATABASE:?}"
export PGHOST PGPORT PGUSER PGDATABASE
PGPASSFILE="$here/.pgpass"
export PGPASSFILE
SERVICE=litellm
STATUS="$BACKUP_DIR/status.json"
# A failed scheduled snapshot is tried again this soon (or after the interval, when shorter).
RETRY_SECONDS=300

umask 077

die() {
  echo "postgres-backup: $*" >&2
  exit 1
}

# A JSON string of $1: backslashes and quotes escaped, control characters as spaces.
json_string() {
  printf '"%s"' "$(printf '%s' "$1" | tr '\n\r\t' '   ' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\000-\037')"
}

# The value of string field $1 in the one-line JSON record $2 (fields this script wrote).
json_field() {
  printf '%s' "$2" | sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"
}

valid_label() {
  case "$1" in
    scheduled) return 0 ;;
    pre-upgrade-*) printf '%s' "${1#pre-upgrade-}" | grep -Eq '^[a-z-]+$' ;;
    *) return 1 ;;
  esac
}

valid_file() {
  printf '%s' "$1" | grep -Eq '^[0-9]{8}T[0-9]{6}Z-(scheduled|pre-upgrade-[a-z-]+)\.[a-z0-9.]+$'
}

# The snapshots' file names (those with a sidecar, so complete), oldest first; with $1, of that label only.
snapshots() {
  for sidecar in "$BACKUP_DIR"/*.json; do
    [ -e "$sidecar" ] || continue
    file=$(basename "$sidecar" .json)
    valid_file "$file" || continue
    [ -e "$BACKUP_DIR/$file" ] || continue
    if [ $# -eq 0 ] || [ "$(label_of "$file")" = "$1" ]; then
      echo "$file"
    fi
  done
}

label_of() {
  printf '%s' "$1" | sed -E 's/^[0-9]{8}T[0-9]{6}Z-(.*)\.dump$/\1/'
}

# Keeps the newest BACKUP_KEEP snapshots of each label; deletes the others with their sidecars.
prune() {
  labels=$(snapshots | while read -r f; do label_of "$f"; echo; done | sort -u)
  for label in $labels; do
    count=$(snapshots "$label" | wc -l)
    excess=$((count - BACKUP_KEEP))
    if [ "$excess" -gt 0 ]; then
      snapshots "$label" | head -n "$excess" | while read -r old; do
        rm -f "$BACKUP_DIR/$old.json" "$BACKUP_DIR/$old"
        echo "pruned $old (keeping the newest $BACKUP_KEEP $label)" >&2
      done
    fi
  done
}

snapshot() {
  label=$1
  valid_label "$label" || die "not a snapshot label: $label (scheduled or pre-upgrade-<service>)"
  mkdir -p "$BACKUP_DIR"
  # One file per second and label: a second one in the same second waits for the next.
  while :; do
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    file="$stamp-$label.dump"
    [ -e "$BACKUP_DIR/$file" ] || [ -e "$BACKUP_DIR/.$file.partial" ] || break
    sleep 1
  done
  partial="$BACKUP_DIR/.$file.partial"
  trap 'rm -f "$partial" "$partial.json"' EXIT
  # Custom format: compressed, and pg_restore can clean and restore it in one transaction.
  pg_dump --format=custom --no-password --file="$partial" || die "pg_dump of $PGDATABASE on $PGHOST:$PGPORT failed"
  sha256=$(sha256sum "$partial" | cut -d' ' -f1)
  bytes=$(wc -c <"$partial" | tr -d ' ')
  record=$(printf '{"service": "%s", "label": "%s", "file": "%s", "created": "%s", "image": %s, "sha256": "%s", "bytes": %s}' \
    "$SERVICE" "$label" "$file" "$created" "$(json_string "$BACKUP_IMAGE")" "$sha256" "$bytes")
  printf '%s\n' "$record" >"$partial.json"
  # The dump first, then its sidecar: a snapshot with a sidecar is complete.
  mv "$partial" "$BACKUP_DIR/$file"
  mv "$partial.json" "$BACKUP_DIR/$file.json"
  trap - EXIT
  prune
  printf '%s\n' "$record"
}

list() {
  snapshots | while read -r f; do
    head -n 1 "$BACKUP_DIR/$f.json"
  done
}

restore() {
  file=$1
  valid_file "$file" || die "not a snapshot file name: $file"
  if [ ! -e "$BACKUP_DIR/$file" ] || [ ! -e "$BACKUP_DIR/$file.json" ]; then
    existing=$(snapshots | tr '\n' ' ')
    die "no snapshot $file in $BACKUP_DIR; snapshots there: ${existing:-none}"
  fi
  expected=$(json_field sha256 "$(head -n 1 "$BACKUP_DIR/$file.json")")
  actual=$(sha256sum "$BACKUP_DIR/$file" | cut -d' ' -f1)
  [ "$expected" = "$actual" ] || die "$file does not match its sidecar (sha256 $actual, recorded $expected): not restored"
  # One transaction, committed only once pg_restore has written the whole archive: a restore that
  # fails leaves the database as it was. The schema is dropped whole first, not with pg_restore's
  # --clean, which drops only what the dump has: a table a later migration added with a foreign
  # key to one in the dump would block the drop, and a rollback after an upgrade would fail.
  committed="ai-gateway: restore committed"
  out=$(
    {
      echo 'BEGIN;'
      echo 'DROP SCHEMA public CASCADE;'
      echo 'CREATE SCHEMA public;'
      pg_restore --no-owner --file=- "$BACKUP_DIR/$file" && printf 'COMMIT;\n\\echo %s\n' "$committed"
    } | psql -X -q -v ON_ERROR_STOP=1 --no-password --dbname="$PGDATABASE" 2>&1
  ) || true
  case "$out" in
    *"$committed"*) ;;
    *) die "pg_restore of $file into $PGDATABASE failed; the database is unchanged: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')" ;;
  esac
  echo "restored $file into $PGDATABASE on $PGHOST:$PGPORT"
}

# status.json: {lastAttempt, lastSuccess, lastSuccessEpoch, lastError} of the scheduled snapshots.
write_status() {
  attempt=$1 success=$2 success_epoch=$3 error=$4
  printf '{"service": "%s", "lastAttempt": %s, "lastSuccess": %s, "lastSuccessEpoch": %s, "lastError": %s}\n' "$SERVICE" \
    "$attempt" "$success" "$success_epoch" "$error" >"$STATUS.partial"
  mv "$STATUS.partial" "$STATUS"
}

# Epoch seconds of the last successful scheduled snapshot, or 0.
last_success_epoch() {
  epoch=$(sed -n 's/.*"lastSuccessEpoch": *\([0-9][0-9]*\).*/\1/p' "$STATUS" 2>/dev/null || true)
  echo "${epoch:-0}"
}

status() {
  if [ -e "$STATUS" ]; then
    head -n 1 "$STATUS"
  else
    printf '{"service": "%s", "lastAttempt": null, "lastSuccess": null, "lastSuccessEpoch": null, "lastError": null}\n' "$SERVICE"
  fi
}

check() {
  [ "$BACKUP_SCHEDULE" = on ] || exit 0
  age=$(($(date -u +%s) - $(last_success_epoch)))
  if [ "$age" -ge $((2 * BACKUP_INTERVAL_SECONDS)) ]; then
    echo "the newest scheduled snapshot of $SERVICE is ${age}s old (limit $((2 * BACKUP_INTERVAL_SECONDS))s)"
    exit 1
  fi
  echo "the newest scheduled snapshot of $SERVICE is ${age}s old"
}

# Sleeps $1 seconds, waking for `docker stop` (the shell is PID 1, which ignores signals it has no trap for).
pause() {
  sleep "$1" &
  wait $! || true
}

loop() {
  trap 'exit 0' TERM INT
  mkdir -p "$BACKUP_DIR"
  while :; do
    age=$(($(date -u +%s) - $(last_success_epoch)))
    if [ "$age" -lt "$BACKUP_INTERVAL_SECONDS" ]; then
      pause $((BACKUP_INTERVAL_SECONDS - age))
      continue
    fi
    attempt=$(json_string "$(date -u +%Y-%m-%dT%H:%M:%SZ)")
    previous=$(status)
    last=$(printf '%s' "$previous" | sed -n 's/.*"lastSuccess": *\("[^"]*"\).*/\1/p')
    if output=$( (snapshot scheduled) 2>&1); then
      record=$(printf '%s\n' "$output" | tail -n 1)
      created=$(json_field created "$record")
      write_status "$attempt" "$(json_string "$created")" "$(date -u +%s)" null
      echo "scheduled snapshot: $record"
    else
      write_status "$attempt" "${last:-null}" "$(last_success_epoch)" "$(json_string "$(printf '%s' "$output" | tail -n 3)")"
      echo "scheduled snapshot failed: $output" >&2
      retry=$RETRY_SECONDS
      [ "$BACKUP_INTERVAL_SECONDS" -lt "$retry" ] && retry=$BACKUP_INTERVAL_SECONDS
      pause "$retry"
    fi
  done
}

idle() {
  trap 'exit 0' TERM INT
  echo "scheduled backups are off (backups: false); snapshots are taken only when asked (pre-upgrade)"
  while :; do
    pause 86400
  done
}

case "${1:-}" in
  loop) loop ;;
  idle) idle ;;
  snapshot)
    [ $# -eq 2 ] || die "usage: $0 snapshot LABEL"
    snapshot "$2"
    ;;
  list) list ;;
  restore)
    [ $# -eq 2 ] || die "usage: $0 restore FILE"
    restore "$2"
    ;;
  status) status ;;
  check) check ;;
  *)
    echo "usage: $0 loop|idle|snapshot LABEL|list|restore FILE|status|check" >&2
    exit 2
    ;;
esac
