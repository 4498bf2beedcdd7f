/**
 * A test double of the script in LiteLLM's backup container (the Backups component ships the real one,
 * uploaded to BACKUP_SCRIPTS.litellm.file), answering the contract of lib/backups.ts, for the tests of the
 * host-side tools before the real backup containers exist: put it at BACKUP_SCRIPTS.litellm.file
 * in a plain container with SERVICE_IMAGE in its environment.
 *
 * `snapshot LABEL` writes a file named as the contract
 * says into /backups/litellm with its sidecar and prints the record; `list` prints every sidecar,
 * oldest first; `restore FILE` copies the file to /restored (a failure when /tmp/FAIL_RESTORE exists; a snapshot fails when /tmp/FAIL_SNAPSHOT does).
 * SERVICE_IMAGE is the pin it records, as the real container's environment gives it.
 */
export const BACKUP_SCRIPT_DOUBLE = String.raw`#!/bin/sh
set -eu
dir=/backups/litellm
mkdir -p "$dir"
case "$1" in
snapshot)
  if [ -e /tmp/FAIL_SNAPSHOT ]; then
    echo "pg_dump: error: connection to server failed: password sk-abcdefghijklmnop rejected" >&2
    exit 3
  fi
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  file="$stamp-$2.dump"
  echo "data at $stamp" > "$dir/$file"
  sum=$(sha256sum "$dir/$file" | cut -d' ' -f1)
  bytes=$(wc -c < "$dir/$file")
  record="{\"service\":\"litellm\",\"label\":\"$2\",\"file\":\"$file\",\"created\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"image\":\"$SERVICE_IMAGE\",\"sha256\":\"$sum\",\"bytes\":$bytes}"
  echo "$record" > "$dir/$file.json"
  echo "dumping..."
  echo "$record"
  ;;
list)
  for f in "$dir"/*.json; do [ -e "$f" ] && cat "$f"; done
  ;;
restore)
  if [ -e /tmp/FAIL_RESTORE ]; then
    echo "pg_restore: error: could not execute query" >&2
    exit 1
  fi
  cp "$dir/$2" /restored
  echo "restored $2"
  ;;
esac
`;
