#!/usr/bin/env bash
# SSH to the Docker host for the GitHub Actions workflows (.github/workflows): the deploy key from a
# secret, and tunnels to a stack's loopback-only listeners so the smoke test can reach them.
#
#   ci-docker-ssh.sh identity
#       writes $AI_GATEWAY_DOCKER_SSH_KEY (the private key) to <ssh dir>/ai-gateway-docker, mode 600,
#       and makes it ssh's identity (<ssh dir>/config), for the docker provider's own ssh.
#   ci-docker-ssh.sh tunnel NAME ssh://USER@HOST[:PORT] HOST_KEY LOCAL:REMOTE...
#       forwards 127.0.0.1:LOCAL here to 127.0.0.1:REMOTE on the host, in the background, trusting
#       HOST_KEY (`<type> <base64>`, as dockerSshHostKey takes it) and nothing else.
#   ci-docker-ssh.sh stack-tunnel STACK
#       a tunnel for each loopback port of STACK's openWebuiUrl and adminUiUrl outputs, same port on
#       both ends, to the stack's own dockerHost and dockerSshHostKey; nothing when the Docker host
#       is not ssh:// (the URLs are then reachable as they are).
#   ci-docker-ssh.sh close NAME
#       ends the tunnel NAME.
#
# <ssh dir> is $AI_GATEWAY_SSH_DIR, default ~/.ssh. Forwarded ports listen on
# $AI_GATEWAY_TUNNEL_LOCAL_ADDRESS, default 127.0.0.1 (the tests use another loopback address, as
# their "remote" host is this machine). The key is never printed. Host keys are pinned:
# never StrictHostKeyChecking=no, and ~/.ssh/known_hosts is not read.
set -euo pipefail

ssh_dir=${AI_GATEWAY_SSH_DIR:-$HOME/.ssh}
identity=$ssh_dir/ai-gateway-docker
local_address=${AI_GATEWAY_TUNNEL_LOCAL_ADDRESS:-127.0.0.1}

usage() {
  sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The file name tunnel NAME's files use. NAME is a stack name (`pr-12`, `medium`, or Pulumi Cloud's
# `org/medium`); it is checked, and / becomes -.
tunnel_file_name() {
  [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$ && $1 != *..* ]] || {
    echo "ci-docker-ssh: tunnel name '$1' is not a stack name (letters, digits, . _ - /)" >&2
    exit 2
  }
  echo "ai-gateway-tunnel-${1//\//-}"
}

control_socket() {
  local file
  file=$(tunnel_file_name "$1")
  echo "$ssh_dir/$file.sock"
}

write_identity() {
  if [ -z "${AI_GATEWAY_DOCKER_SSH_KEY:-}" ]; then
    echo "ci-docker-ssh: AI_GATEWAY_DOCKER_SSH_KEY is empty: set the repository secret to the Docker host's deploy key" >&2
    exit 1
  fi
  (umask 077 && mkdir -p "$ssh_dir")
  # printf, not echo: the key is data; OpenSSH needs its final newline, which secrets often lose.
  (umask 077 && printf '%s\n' "$AI_GATEWAY_DOCKER_SSH_KEY" >"$identity")
  chmod 600 "$identity"
  if ! ssh-keygen -y -f "$identity" >/dev/null 2>&1; then
    echo "ci-docker-ssh: AI_GATEWAY_DOCKER_SSH_KEY is not an unencrypted OpenSSH private key" >&2
    exit 1
  fi
  # Only the identity: host keys stay pinned by the program (dockerSshHostKey), not by this config.
  local marker="# ai-gateway-docker (scripts/ci-docker-ssh.sh)"
  touch "$ssh_dir/config"
  chmod 600 "$ssh_dir/config"
  if ! grep -qxF "$marker" "$ssh_dir/config"; then
    printf '%s\nHost *\n  IdentityFile %s\n' "$marker" "$identity" >>"$ssh_dir/config"
  fi
  echo "ci-docker-ssh: deploy key installed as $identity"
}

open_tunnel() {
  local name=$1 url=$2 host_key=$3
  shift 3
  [ "$#" -gt 0 ] || usage
  local socket
  socket=$(control_socket "$name")
  if [[ ! $url =~ ^ssh://([A-Za-z0-9._-]+)@(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+)(:([0-9]+))?/?$ ]]; then
    echo "ci-docker-ssh: Docker host '$url' is not ssh://user@host[:port]" >&2
    exit 2
  fi
  local user=${BASH_REMATCH[1]} host=${BASH_REMATCH[2]} port=${BASH_REMATCH[4]:-22}
  local host_name=${host#[}
  host_name=${host_name%]}
  read -r key_type key_blob _ <<<"$host_key" || true
  if [[ ! $key_type =~ ^[a-z0-9@.-]+$ || ! ${key_blob:-} =~ ^[A-Za-z0-9+/=]+$ ]]; then
    echo "ci-docker-ssh: host key '$key_type ...' is not '<type> <base64>' (the host's /etc/ssh/ssh_host_*_key.pub)" >&2
    exit 2
  fi
  local known_hosts
  known_hosts=$ssh_dir/$(tunnel_file_name "$name").known_hosts
  (umask 077 && mkdir -p "$ssh_dir")
  if [ "$port" = 22 ]; then
    printf '%s %s %s\n' "$host_name" "$key_type" "$key_blob" >"$known_hosts"
  else
    printf '[%s]:%s %s %s\n' "$host_name" "$port" "$key_type" "$key_blob" >"$known_hosts"
  fi
  local forwards=() mapping
  for mapping in "$@"; do
    if [[ ! $mapping =~ ^([0-9]{1,5}):([0-9]{1,5})$ ]]; then
      echo "ci-docker-ssh: '$mapping' is not LOCAL:REMOTE (two port numbers)" >&2
      exit 2
    fi
    forwards+=(-L "$local_address:${BASH_REMATCH[1]}:127.0.0.1:${BASH_REMATCH[2]}")
  done
  local identity_options=()
  [ -f "$identity" ] && identity_options=(-i "$identity" -o IdentitiesOnly=yes)
  # -F /dev/null: only these options; -M -S: a control socket `close` ends it by; -f after the
  # forwards are bound (ExitOnForwardFailure), so the next step finds them open.
  ssh -F /dev/null -M -S "$socket" -f -N \
    -o BatchMode=yes -o ExitOnForwardFailure=yes -o ConnectTimeout=20 -o ServerAliveInterval=30 \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -o CheckHostIP=no -o UpdateHostKeys=no "${identity_options[@]}" \
    -p "$port" "${forwards[@]}" "$user@$host_name"
  echo "ci-docker-ssh: tunnel $name open: $* (local:remote) via $host_name"
}

close_tunnel() {
  local socket
  socket=$(control_socket "$1")
  if [ -S "$socket" ]; then
    ssh -F /dev/null -S "$socket" -O exit ai-gateway-tunnel 2>/dev/null || true
    echo "ci-docker-ssh: tunnel $1 closed"
  fi
}

# The ports of a stack's loopback URLs, one a line (the listeners a remote host keeps to itself).
loopback_ports() {
  node -e '
    for (const value of process.argv.slice(1)) {
      if (!value) continue;
      const url = new URL(value);
      if (["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
        console.log(url.port || (url.protocol === "https:" ? 443 : 80));
      }
    }' "$@"
}

# The value of key in a JSON object (a stack output), or nothing.
json_field() {
  node -e 'const v = JSON.parse(process.argv[1] || "null"); process.stdout.write(String((v && v[process.argv[2]]) ?? ""))' "$1" "$2"
}

stack_tunnel() {
  local stack=$1 docker_host host_key="" vps open_webui admin_ui
  docker_host=$(pulumi config get dockerHost --stack "$stack" 2>/dev/null || true)
  if [ -z "$docker_host" ]; then
    # A VPS stack (vps: true): the server's ssh:// endpoint and pinned host key are its outputs.
    vps=$(pulumi stack output vps --json --show-secrets --stack "$stack" 2>/dev/null || true)
    docker_host=$(json_field "$vps" dockerHost)
    host_key=$(json_field "$vps" sshHostKey)
  fi
  open_webui=$(pulumi stack output openWebuiUrl --stack "$stack")
  admin_ui=$(pulumi stack output adminUiUrl --stack "$stack")
  local ports=() port
  while read -r port; do ports+=("$port:$port"); done < <(loopback_ports "$open_webui" "$admin_ui" | sort -u)
  case $docker_host in
    "" | unix://*)
      echo "ci-docker-ssh: $stack's Docker host is this machine: no tunnel needed"
      return
      ;;
    ssh://*) ;;
    *)
      if [ "${#ports[@]}" -gt 0 ]; then
        # The smoke test would otherwise send the keys to this machine's own loopback ports.
        echo "ci-docker-ssh: $stack's Docker host $docker_host is not reached over ssh, so its loopback listeners cannot be tunnelled here: run the smoke test on that host" >&2
        exit 1
      fi
      echo "ci-docker-ssh: $stack publishes no loopback-only URL: no tunnel needed"
      return
      ;;
  esac
  if [ "${#ports[@]}" -eq 0 ]; then
    echo "ci-docker-ssh: $stack publishes no loopback-only URL: no tunnel needed"
    return
  fi
  [ -n "$host_key" ] || host_key=$(pulumi config get dockerSshHostKey --stack "$stack")
  open_tunnel "$stack" "$docker_host" "$host_key" "${ports[@]}"
}

case "${1:-}" in
  identity) write_identity ;;
  tunnel)
    [ "$#" -ge 5 ] || usage
    shift
    open_tunnel "$@"
    ;;
  stack-tunnel)
    [ "$#" -eq 2 ] || usage
    stack_tunnel "$2"
    ;;
  close)
    [ "$#" -eq 2 ] || usage
    close_tunnel "$2"
    ;;
  *) usage ;;
esac
