#!/usr/bin/env bash
# Builds the five images the gateway deploys, and two newer LiteLLM stand-in tags for upgrade
# tests, from what this machine has (no registry on the internet), and pushes them to the local
# registry under the pinned repository paths and tags:
#
#   127.0.0.1:5000/library/postgres:16.15-trixie     PostgreSQL from Debian sid (its only server
#                                                     package is 18.x; see the postgresql-version label)
#   127.0.0.1:5000/library/nginx:1.30.5-alpine       nginx 1.30 from Debian sid
#   127.0.0.1:5000/berriai/litellm:v1.110.1          tests/fixtures/docker's LiteLLM stand-in
#   127.0.0.1:5000/berriai/litellm:v1.110.2          the same stand-in as a newer image: one more
#                                                     migration (STANDIN_MIGRATION), which succeeds
#   127.0.0.1:5000/berriai/litellm:v1.110.2-broken-migration
#                                                     the same with a migration that fails half-way
#                                                     (STANDIN_MIGRATION_BREAKS), for upgrade tests
#   127.0.0.1:5000/open-webui/open-webui:v0.11.4     tests/fixtures/docker's Open WebUI stand-in
#   127.0.0.1:5000/library/redis:8.10.2-alpine       Redis from Debian sid (see the redis-version label)
#
# Each has the real image's entrypoint, command, user, working directory, ports, stop signal and
# data paths (../shared/reference/runtime-facts.md), as far as the program or a `docker run` can
# tell. All five share one base layer: the test rootfs (scripts/build-test-rootfs.sh: nginx,
# python3, PostgreSQL, busybox) imported once; each adds a few small layers (legacy builder).
#
# Idempotent: every image carries the label ai-gateway.content, a hash of the base and of every file
# its build uses (the stand-ins are read from tests/fixtures/docker at build time), and is rebuilt
# only when that hash changes; the push is repeated every time (it uploads nothing the registry has).
# Starts the engine (scripts/start-dockerd.sh) and the registry (scripts/start-registry.sh) when run
# as root. Prints the references on stdout and writes them, with their digests, to
# .cache/images/registry-images.json (tests/helpers/registryImages.ts reads it).
#
#   build-images.sh          everything above
#   build-images.sh --base   only import the base image (no registry needed); prints its reference
#
# The rootfs is AI_GATEWAY_TEST_ROOTFS when set (as for the tests), else .cache/rootfs/current.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

REGISTRY=127.0.0.1:5000
# Bumped when the base import (its excludes or config) changes.
BASE_RECIPE=1
BASE_REPOSITORY=ai-gateway-images/base
FIXTURES=tests/fixtures/docker
OUT=.cache/images
STD_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

mode=all
case "${1:-}" in
  "") ;;
  --base) mode=base ;;
  *)
    echo "usage: $0 [--base]" >&2
    exit 2
    ;;
esac

mkdir -p "$OUT"
log="$OUT/build.log" # this run's pulls, builds and pushes

# The sid client from the engine rootfs when it is there (it matches the engine), else the host's.
docker_client() {
  local rootfs_client=.cache/engine-rootfs/current/usr/bin/docker
  if [ -x "$rootfs_client" ]; then
    echo "$ROOT/$rootfs_client"
  else
    command -v docker
  fi
}

if [ "$mode" = all ] && [ "$(id -u)" -eq 0 ]; then
  if [ -z "${AI_GATEWAY_TEST_ROOTFS:-}" ]; then
    scripts/build-test-rootfs.sh >&2
  fi
  scripts/start-dockerd.sh
  scripts/start-registry.sh
fi
DOCKER=$(docker_client)
export DOCKER_BUILDKIT=0 # the legacy builder: no buildx plugin here, and it needs none

rootfs=$(realpath "${AI_GATEWAY_TEST_ROOTFS:-.cache/rootfs/current}")
if [ ! -f "$rootfs/.complete" ]; then
  echo "build-images: no test rootfs at $rootfs: run scripts/build-test-rootfs.sh" >&2
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# The base: the rootfs as one layer, without what Docker provides (/proc, /sys, /dev contents) and
# without apt's package cache and lists (~150 MB no container needs).
# ---------------------------------------------------------------------------------------------
BASE_EXCLUDES=(./.complete './proc/*' './sys/*' './dev/*' './var/cache/apt/archives/*.deb' './var/lib/apt/lists/*')
base_key=$(printf '%s\n' "$(basename "$rootfs")" "$BASE_RECIPE" "$STD_PATH" "${BASE_EXCLUDES[@]}" | sha256sum | cut -c1-12)
base_ref="$BASE_REPOSITORY:$base_key"

ensure_base() {
  if "$DOCKER" image inspect "$base_ref" >/dev/null 2>&1; then
    return 0
  fi
  exec 8>"$OUT/.base.lock"
  flock 8
  if ! "$DOCKER" image inspect "$base_ref" >/dev/null 2>&1; then
    local started=$SECONDS
    local excludes=()
    for e in "${BASE_EXCLUDES[@]}"; do excludes+=("--exclude=$e"); done
    tar --numeric-owner "${excludes[@]}" -C "$rootfs" -cf - . |
      "$DOCKER" import --change "ENV PATH=$STD_PATH" --change "LABEL ai-gateway.base=$base_key" - "$base_ref" >/dev/null
    echo "build-images: imported $rootfs as $base_ref in $((SECONDS - started)) s" >&2
  fi
  exec 8>&-
}

ensure_base
if [ "$mode" = base ]; then
  echo "$base_ref"
  exit 0
fi

exec 9>"$OUT/.lock"
flock 9
: >"$log"

# Versions of what the rootfs really has, for labels (the tags are the pinned ones).
deb_version() {
  awk -v p="$1" '$1 == "Package:" { hit = ($2 == p) } hit && $1 == "Version:" { print $2; exit }' "$rootfs/var/lib/dpkg/status"
}
pg_major=$(find "$rootfs/usr/lib/postgresql" -mindepth 3 -maxdepth 3 -path '*/bin/postgres' | sed -E 's|.*/postgresql/([0-9]+)/bin/postgres|\1|' | sort -n | tail -n1)
if [ -z "$pg_major" ]; then
  echo "build-images: no PostgreSQL server in $rootfs" >&2
  exit 1
fi
pg_version=$(deb_version "postgresql-$pg_major")
nginx_version=$(deb_version nginx)
redis_version=$(deb_version redis-server)

# ---------------------------------------------------------------------------------------------
# Build contexts, regenerated on every run; a context's files (and the base key) are its hash.
# ---------------------------------------------------------------------------------------------
ctx_root="$OUT/context"
rm -rf "$ctx_root"
mkdir -p "$ctx_root"

# Gives NAME the uid and gid ID (moving whatever holds them out of the way) and re-owns its files,
# as the official images' users have fixed ids (postgres 999, nginx 101).
write_set_ids() {
  cat >"$1/set-ids.sh" <<'EOF'
#!/bin/sh
set -eu
name=$1 id=$2
free_id() { i=900; while getent passwd "$i" >/dev/null || getent group "$i" >/dev/null; do i=$((i + 1)); done; echo "$i"; }
old_uid=$(id -u "$name") old_gid=$(id -g "$name")
holder=$(getent passwd "$id" | cut -d: -f1 || true)
if [ -n "$holder" ] && [ "$holder" != "$name" ]; then
  new=$(free_id); usermod -u "$new" "$holder"; find / -xdev -uid "$id" -exec chown -h "$new" {} +
fi
holder=$(getent group "$id" | cut -d: -f1 || true)
if [ -n "$holder" ] && [ "$holder" != "$name" ]; then
  new=$(free_id); groupmod -g "$new" "$holder"; find / -xdev -gid "$id" -exec chgrp -h "$new" {} +
fi
groupmod -g "$id" "$(id -gn "$name")"
usermod -u "$id" -g "$id" "$name"
find / -xdev -uid "$old_uid" -exec chown -h "$id" {} +
find / -xdev -gid "$old_gid" -exec chgrp -h "$id" {} +
EOF
}

# --- postgres ---------------------------------------------------------------------------------
ctx="$ctx_root/postgres"
mkdir -p "$ctx"
cp "$FIXTURES/postgres-entrypoint.sh" "$ctx/docker-entrypoint.sh"
write_set_ids "$ctx"
cat >"$ctx/Dockerfile" <<EOF
FROM $base_ref
COPY set-ids.sh /tmp/set-ids.sh
# The postgres user is 999:999 as in the official image; no cluster from the Debian package (the
# entrypoint initialises PGDATA); PGDATA world-writable and the socket directory as upstream has them.
RUN sh /tmp/set-ids.sh postgres 999 && rm /tmp/set-ids.sh \\
 && rm -rf /var/lib/postgresql/* /etc/postgresql/* \\
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \\
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \\
 && chmod 1777 /var/lib/postgresql/data && chmod 3777 /var/run/postgresql
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PG_MAJOR=$pg_major PG_VERSION=$pg_version
ENV PATH=$STD_PATH:/usr/lib/postgresql/$pg_major/bin PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
LABEL org.opencontainers.image.description="Stand-in for postgres:16.15-trixie: PostgreSQL $pg_version from Debian sid (no 16.x in Debian), entrypoint tests/fixtures/docker/postgres-entrypoint.sh" ai-gateway.postgresql-version=$pg_version
EOF

# --- nginx ------------------------------------------------------------------------------------
ctx="$ctx_root/nginx"
mkdir -p "$ctx"
write_set_ids "$ctx"
# nginx:alpine's /etc/nginx/nginx.conf and conf.d/default.conf (IPv4 only: the containers here
# have no IPv6, where the image's entrypoint would leave the [::]:80 listen out as well).
cat >"$ctx/nginx.conf" <<'EOF'
user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    #tcp_nopush     on;

    keepalive_timeout  65;

    #gzip  on;

    include /etc/nginx/conf.d/*.conf;
}
EOF
cat >"$ctx/default.conf" <<'EOF'
server {
    listen       80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
EOF
# The image's /docker-entrypoint.sh runs /docker-entrypoint.d/*.sh when the command is nginx; this
# one does the same (the directory is empty here: no envsubst templates, no IPv6 edit).
cat >"$ctx/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    for f in /docker-entrypoint.d/*.sh; do
        [ -x "$f" ] || continue
        echo "$0: Launching $f"
        "$f"
    done
    echo "$0: Configuration complete; ready for start up"
fi
exec "$@"
EOF
cat >"$ctx/Dockerfile" <<EOF
FROM $base_ref
COPY set-ids.sh /tmp/set-ids.sh
# (Without the Debian package's PostgreSQL cluster: re-owning it would copy it into this layer.)
RUN rm -rf /var/lib/postgresql/* /etc/postgresql/* /etc/nginx/sites-enabled/* \\
 && sh /tmp/set-ids.sh nginx 101 && rm /tmp/set-ids.sh \\
 && mkdir -p /var/cache/nginx /docker-entrypoint.d /etc/nginx/conf.d /usr/share/nginx/html \\
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
COPY nginx.conf /etc/nginx/nginx.conf
COPY default.conf /etc/nginx/conf.d/default.conf
COPY docker-entrypoint.sh /docker-entrypoint.sh
# nginx -t creates the temp directories (owned by nginx); the official image has none, so its
# master creates and chowns them at start and needs CHOWN: removed so the stand-in needs it too.
RUN nginx -t && rm -rf /var/lib/nginx/*
ENV NGINX_VERSION=$nginx_version
ENTRYPOINT ["/docker-entrypoint.sh"]
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
LABEL org.opencontainers.image.description="Stand-in for nginx:1.30.5-alpine: nginx $nginx_version from Debian sid" ai-gateway.nginx-version=$nginx_version
EOF

# --- LiteLLM ----------------------------------------------------------------------------------
ctx="$ctx_root/litellm"
mkdir -p "$ctx"
cp "$FIXTURES/standin.py" "$FIXTURES/litellm_standin.py" "$ctx/"
# The newest images' /app/docker-entrypoint.sh: the first argument picks a component, and one that
# starts with "-" (the program passes --config ...) runs the proxy with those arguments.
cat >"$ctx/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
case "${1:-}" in
  "" | -*) ;;
  proxy) shift ;;
  *)
    echo "docker-entrypoint.sh: only the proxy component is in this stand-in (asked for: $1)" >&2
    exit 2
    ;;
esac
exec python3 /app/standin/litellm_standin.py "$@"
EOF
cat >"$ctx/Dockerfile" <<EOF
FROM $base_ref
# Chainguard-based LiteLLM images have neither curl nor wget (BerriAI/litellm#17645).
RUN rm -f /usr/local/bin/wget && mkdir -p /app/standin
COPY standin.py litellm_standin.py /app/standin/
COPY docker-entrypoint.sh /app/docker-entrypoint.sh
WORKDIR /app
USER 65532:65532
EXPOSE 4000 4001 3000
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["--port", "4000"]
LABEL org.opencontainers.image.description="Stand-in for ghcr.io/berriai/litellm:v1.110.1: tests/fixtures/docker/litellm_standin.py"
EOF

# --- Open WebUI -------------------------------------------------------------------------------
ctx="$ctx_root/open-webui"
mkdir -p "$ctx"
cp "$FIXTURES/standin.py" "$FIXTURES/open_webui_standin.py" "$ctx/"
# backend/start.sh: WEBUI_SECRET_KEY from .webui_secret_key (generated once) when unset, then the
# server on $PORT.
cat >"$ctx/start.sh" <<'EOF'
#!/usr/bin/env bash
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$SCRIPT_DIR" || exit
KEY_FILE=.webui_secret_key
PORT="${PORT:-8080}"
HOST="${HOST:-0.0.0.0}"
if test "$WEBUI_SECRET_KEY $WEBUI_JWT_SECRET_KEY" = " "; then
  if ! [ -e "$KEY_FILE" ]; then
    echo "Generating WEBUI_SECRET_KEY"
    head -c 12 /dev/random | base64 >"$KEY_FILE"
  fi
  echo "Loading WEBUI_SECRET_KEY from $KEY_FILE"
  WEBUI_SECRET_KEY=$(cat "$KEY_FILE")
  export WEBUI_SECRET_KEY
fi
export PORT HOST
exec python3 "$SCRIPT_DIR/standin/open_webui_standin.py"
EOF
cat >"$ctx/Dockerfile" <<EOF
FROM $base_ref
RUN mkdir -p /app/backend/data /app/backend/standin
COPY standin.py open_webui_standin.py /app/backend/standin/
COPY start.sh /app/backend/start.sh
ENV ENV=prod PORT=8080 DATA_DIR=/app/backend/data
WORKDIR /app/backend
EXPOSE 8080
# The image's check is curl | jq on /health ({"status": true}); neither tool is in this rootfs.
HEALTHCHECK CMD python3 -c "import json, os, urllib.request; r = urllib.request.urlopen('http://localhost:%s/health' % os.environ.get('PORT', '8080')); raise SystemExit(0 if json.load(r).get('status') is True else 1)" || exit 1
CMD ["bash", "start.sh"]
LABEL org.opencontainers.image.description="Stand-in for ghcr.io/open-webui/open-webui:v0.11.4: tests/fixtures/docker/open_webui_standin.py"
EOF

# --- Redis -----------------------------------------------------------------------------------
ctx="$ctx_root/redis"
mkdir -p "$ctx"
write_set_ids "$ctx"
# The official image's docker-entrypoint.sh: a first argument that is an option or a .conf file
# runs redis-server with it; redis-server started as root re-owns /data and drops to user redis
# (su-exec there, setpriv here); umask 0077 for what Redis writes.
cat >"$ctx/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
um="$(umask)"
if [ "$um" = '0022' ]; then
    umask 0077
fi
exec "$@"
EOF
cat >"$ctx/Dockerfile" <<EOF
FROM $base_ref
COPY set-ids.sh /tmp/set-ids.sh
# User redis is 999 as in the official image (without the Debian package's PostgreSQL cluster,
# which re-owning would copy into this layer).
RUN rm -rf /var/lib/postgresql/* /etc/postgresql/* \\
 && sh /tmp/set-ids.sh redis 999 && rm /tmp/set-ids.sh \\
 && mkdir -p /data /usr/local/etc/redis && chown redis:redis /data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV REDIS_VERSION=$redis_version
VOLUME /data
WORKDIR /data
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 6379
CMD ["redis-server"]
LABEL org.opencontainers.image.description="Stand-in for redis:8.10.2-alpine: Redis $redis_version from Debian sid" ai-gateway.redis-version=$redis_version
EOF

# COPY keeps a file's mode: the entrypoints and the stand-ins must be executable (the fixtures need
# not be, in the checkout).
chmod 0755 "$ctx_root/postgres/docker-entrypoint.sh" "$ctx_root/nginx/docker-entrypoint.sh" \
  "$ctx_root/litellm/docker-entrypoint.sh" "$ctx_root/litellm/litellm_standin.py" \
  "$ctx_root/open-webui/start.sh" "$ctx_root/open-webui/open_webui_standin.py" \
  "$ctx_root/redis/docker-entrypoint.sh"

# --- LiteLLM, newer images for upgrade tests --------------------------------------------------
# The v1.110.1 context with one more migration (litellm_standin.py: STANDIN_MIGRATION), and the
# same migration failing half-way; each its own content hash (its Dockerfile differs).
for variant in litellm-next litellm-broken-migration; do
  cp -a "$ctx_root/litellm" "$ctx_root/$variant"
done
cat >>"$ctx_root/litellm-next/Dockerfile" <<'EOF'
ENV STANDIN_MIGRATION=20261110000000_standin_upgrade
LABEL org.opencontainers.image.description="Stand-in for ghcr.io/berriai/litellm:v1.110.2: tests/fixtures/docker/litellm_standin.py with one more migration"
EOF
cat >>"$ctx_root/litellm-broken-migration/Dockerfile" <<'EOF'
ENV STANDIN_MIGRATION=20261120000000_standin_broken_migration STANDIN_MIGRATION_BREAKS=true
LABEL org.opencontainers.image.description="LiteLLM stand-in whose migration fails half-way (P3018), for upgrade tests"
EOF

# ---------------------------------------------------------------------------------------------
# Build what changed, push everything, record the references.
# ---------------------------------------------------------------------------------------------
declare -A REFS=(
  [postgres]="$REGISTRY/library/postgres:16.15-trixie"
  [nginx]="$REGISTRY/library/nginx:1.30.5-alpine"
  [litellm]="$REGISTRY/berriai/litellm:v1.110.1"
  [open-webui]="$REGISTRY/open-webui/open-webui:v0.11.4"
  [redis]="$REGISTRY/library/redis:8.10.2-alpine"
  [litellm-next]="$REGISTRY/berriai/litellm:v1.110.2"
  [litellm-broken-migration]="$REGISTRY/berriai/litellm:v1.110.2-broken-migration"
)
NAMES=(postgres nginx litellm open-webui redis litellm-next litellm-broken-migration)

content_hash() {
  (
    cd "$1"
    printf '%s\n' "$base_key"
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    find . -type f -printf '%m %p\n' | LC_ALL=C sort
  ) | sha256sum | cut -c1-16
}

label_of() {
  "$DOCKER" image inspect -f '{{index .Config.Labels "ai-gateway.content"}}' "$1" 2>/dev/null || true
}

json="{"
built=0
for name in "${NAMES[@]}"; do
  ref=${REFS[$name]}
  ctx="$ctx_root/$name"
  hash=$(content_hash "$ctx")
  echo "LABEL ai-gateway.content=$hash" >>"$ctx/Dockerfile"
  started=$SECONDS
  state=cached
  if [ "$(label_of "$ref")" != "$hash" ]; then
    # The registry may have it although this engine does not (a new data root).
    "$DOCKER" pull -q "$ref" >>"$log" 2>&1 || true
    if [ "$(label_of "$ref")" = "$hash" ]; then
      state=pulled
    else
      echo "== build $ref ($hash)" >>"$log"
      "$DOCKER" build --rm --force-rm -t "$ref" "$ctx" >>"$log" 2>&1 || {
        echo "build-images: building $ref failed; the end of $log:" >&2
        tail -n 30 "$log" >&2
        exit 1
      }
      state=built
      built=1
    fi
  fi
  "$DOCKER" push -q "$ref" >>"$log" 2>&1 || {
    echo "build-images: pushing $ref failed; the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
  }
  digest=$("$DOCKER" image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" | grep -m1 "^${ref%:*}@" | cut -d@ -f2)
  echo "build-images: $ref ($state, pushed in $((SECONDS - started)) s, $digest)" >&2
  json+=$(printf '\n  "%s": {"ref": "%s", "digest": "%s", "content": "%s"},' "$name" "$ref" "$digest" "$hash")
  echo "$ref"
done
json="${json%,}"$'\n'"}"
if [ "$built" = 1 ]; then # the images these replaced, if no container uses them
  "$DOCKER" image prune -f --filter label=ai-gateway.content >>"$log" 2>&1 || true
fi
printf '%s\n' "$json" >"$OUT/registry-images.json.tmp"
mv "$OUT/registry-images.json.tmp" "$OUT/registry-images.json"
