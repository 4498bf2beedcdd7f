/** The parts of a Docker endpoint string, read in one place for validation, connections and URLs. */
export type DockerHostParts =
  | { readonly kind: "unix"; readonly path: string }
  | { readonly kind: "ssh"; readonly user: string; readonly host: string; readonly port?: string }
  | { readonly kind: "tcp"; readonly host: string; readonly port: string };

/** `unix:///path`, `ssh://user@host[:port]` or `tcp://host:port`, by shape only; undefined otherwise. */
export function parseDockerHost(value: string): DockerHostParts | undefined {
  const unix = /^unix:\/\/(\/\S+)$/.exec(value);
  if (unix) {
    return { kind: "unix", path: unix[1] };
  }
  const ssh = /^ssh:\/\/([A-Za-z_][A-Za-z0-9_.-]*)@([^:/\s]+)(?::([0-9]+))?$/.exec(value);
  if (ssh) {
    return { kind: "ssh", user: ssh[1], host: ssh[2], ...(ssh[3] !== undefined ? { port: ssh[3] } : {}) };
  }
  const tcp = /^tcp:\/\/([^:/\s]+):([0-9]+)$/.exec(value);
  if (tcp) {
    return { kind: "tcp", host: tcp[1], port: tcp[2] };
  }
  return undefined;
}

/** The machine a remote Docker endpoint runs on; undefined for the local socket. */
export function remoteDockerHost(value: string): string | undefined {
  const parts = parseDockerHost(value);
  return parts && parts.kind !== "unix" ? parts.host : undefined;
}
