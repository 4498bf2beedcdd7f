#!/bin/sh
# Starts PostgreSQL through the image's own entrypoint, then makes the LiteLLM role's password
# match POSTGRES_PASSWORD on every start. POSTGRES_PASSWORD is the SCRAM-SHA-256 verifier the
# program computed from the password (lib/scram.ts), not the password.
#
# The official image applies POSTGRES_PASSWORD only when it initialises an empty volume, so a
# volume that outlived its stack's secrets (a `pulumi destroy` keeps it; the next `up` generates
# new ones) would refuse LiteLLM forever. The original bundle's answer was to delete the volume;
# this ALTERs the role instead. It connects over the unix socket, which the image trusts, and sends
# the verifier, which PostgreSQL stores as given: a logged statement (log_statement, or the
# STATEMENT line of an error) shows the verifier only. It goes from the environment into psql's
# stdin, never onto a command line.
#
# Arguments: the server's, as the image takes them (postgres -c key=value ...).
set -eu

MARKER=/tmp/ai-gateway-role-password-applied
rm -f "$MARKER"

docker-entrypoint.sh "$@" &
server=$!
# The image stops with SIGINT (fast shutdown); pass the stop signal on and wait for the server.
trap 'kill -INT "$server" 2>/dev/null' INT TERM

# Over TCP: the image's first-boot temporary server listens on the socket only.
until pg_isready -q -h 127.0.0.1 -p 5432 -U "$POSTGRES_USER" -d "$POSTGRES_DB"; do
  kill -0 "$server" 2>/dev/null || { wait "$server"; exit $?; }
  sleep 1
done

psql -v ON_ERROR_STOP=1 -q -X --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
\set verifier '$POSTGRES_PASSWORD'
ALTER ROLE CURRENT_USER WITH PASSWORD :'verifier';
SQL
touch "$MARKER"
echo "ai-gateway: role $POSTGRES_USER has the stack's password"

# wait returns early when a trapped signal arrives; wait again until the server itself has exited.
while :; do
  if wait "$server"; then status=0; else status=$?; fi
  kill -0 "$server" 2>/dev/null || break
done
exit "$status"
