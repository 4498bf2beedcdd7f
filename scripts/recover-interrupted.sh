#!/usr/bin/env bash
# Repairs a stack whose `pulumi up` was killed without a chance to stop (SIGKILL, a lost CI runner,
# a power cut), so that the next `pulumi up` converges:
#
#   scripts/recover-interrupted.sh STACK      then: pulumi up --stack STACK
#
# A `pulumi up` stopped with Ctrl-C or SIGTERM needs none of this: it finishes the step in flight,
# records it, and the next `up` carries on. A hard kill leaves three things behind:
# 1. the stack's lock (file and bucket backends): `pulumi cancel` releases it;
# 2. "pending creates": resources the engine had asked for but never recorded. For the gateway's
#    containers and network these exist in Docker under the fixed names the next `up` needs, so its
#    create would fail with "name already in use". They hold no data (volumes do, and a volume of
#    the same name is simply reused), so they are removed;
# 3. the pending operations themselves: `pulumi refresh --clear-pending-creates` drops them and
#    reads everything else back from Docker.
# Only a container or network named in a pending create whose Docker id is not the id the state
# records for it is removed (a replacement killed after removing the old container may still
# record the old one: its id no longer exists in Docker). Runs in the project directory, with the same backend and passphrase as `pulumi up`.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 STACK" >&2
  exit 2
fi
stack=$1

# With a file or bucket backend this succeeds whether or not a lock was left.
pulumi cancel --yes --stack "$stack" >/dev/null 2>&1 || true
echo "recover: no update of $stack holds the stack any more"

# From the stack's state: the Docker endpoint of the gateway's docker provider, and the containers
# and networks of pending creates, each with the ids the state records under that name (or "-").
# shellcheck disable=SC2016 # node evaluates the template literals
plan=$(pulumi stack export --stack "$stack" | node -e '
  const state = JSON.parse(require("fs").readFileSync(0, "utf8")).deployment;
  const resources = state.resources ?? [];
  const pending = (state.pending_operations ?? []).filter((op) => op.type === "creating").map((op) => op.resource);
  const recordedIds = (type, name) =>
    resources.filter((r) => r.type === type && r.inputs?.name === name && r.id).map((r) => r.id).join(",") || "-";
  const provider = resources.find((r) => r.type === "pulumi:providers:docker");
  if (provider) {
    console.log(`host ${provider.inputs?.host ?? "unix:///var/run/docker.sock"}`);
    if ((provider.inputs?.sshOpts ?? []).length > 0) console.log("sshopts yes");
  }
  const kinds = { "docker:index/container:Container": "container", "docker:index/network:Network": "network" };
  for (const r of pending) {
    const kind = kinds[r.type];
    if (kind && typeof r.inputs?.name === "string") {
      console.log(`${kind} ${r.inputs.name} ${recordedIds(r.type, r.inputs.name)}`);
    }
  }
')

host=$(sed -n 's/^host //p' <<<"$plan")
orphans=$(grep -E '^(container|network) ' <<<"$plan" || true)
if [ -n "$orphans" ]; then
  if grep -q '^sshopts ' <<<"$plan"; then
    echo "recover: the stack reaches Docker with dockerSshOpts; remove these by hand on the Docker host, then rerun:" >&2
    cut -d' ' -f1,2 <<<"$orphans" | sed 's/^container /  docker rm -f /; s/^network /  docker network rm /' >&2
    exit 1
  fi
  while read -r kind name recorded; do
    id=$(docker -H "$host" "$kind" inspect --format '{{.Id}}' "$name" 2>/dev/null) || continue # not in Docker
    if [[ ",$recorded," == *",$id,"* ]]; then
      continue # the one the state records
    fi
    if [ "$kind" = container ]; then
      docker -H "$host" rm -f "$name" >/dev/null
    else
      docker -H "$host" network rm "$name" >/dev/null
    fi
    echo "recover: removed $kind $name (created by the killed update, never recorded)"
  done <<<"$orphans"
fi

pulumi refresh --yes --skip-preview --clear-pending-creates --stack "$stack" >/dev/null
echo "recover: $stack refreshed; run: pulumi up --stack $stack"
