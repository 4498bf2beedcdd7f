/** Where LiteLLM's admin UI is, and how to reach it from the machine running pulumi. */
import { parseDockerHost, pinnedSshOptions } from "./dockerHost";
import { isLoopback } from "./proxySettings";
import { GatewaySettings } from "./settings";
import { shellQuote } from "./shellQuote";

/** LiteLLM's admin UI on the admin listener: the Docker host's loopback unless adminBindAddress says otherwise. */
export function adminUiUrl(settings: GatewaySettings): string {
  const bind = settings.proxy.adminBindAddress;
  const docker = parseDockerHost(settings.dockerHost);
  const remote = docker && docker.kind !== "unix" ? docker.host : undefined;
  const host = isLoopback(bind) ? "127.0.0.1" : bind !== "0.0.0.0" ? bind : (remote ?? "localhost");
  return `http://${host}:${settings.adminPort}/ui`;
}

/** The admin listener is bound to the Docker host's loopback: local users open it, remote ones tunnel. */
export function adminUiAccess(settings: GatewaySettings): string {
  const url = adminUiUrl(settings);
  if (!isLoopback(settings.proxy.adminBindAddress)) {
    return `open ${url} from an allowed network (adminAllowedCidrs: ${settings.proxy.adminAllowedCidrs.join(", ")})`;
  }
  const docker = parseDockerHost(settings.dockerHost);
  if (docker?.kind === "ssh") {
    const tunnel = ["-N", "-L", `${settings.adminPort}:127.0.0.1:${settings.adminPort}`];
    return `${sshCommandLine(settings.dockerHost, settings.dockerSshHostKey, settings.dockerSshOpts, tunnel)}  # then open ${url}`;
  }
  if (docker?.kind === "tcp") {
    return `on the Docker host, open ${url} (or tunnel to its port ${settings.adminPort} on 127.0.0.1)`;
  }
  return `open ${url}`;
}

/**
 * The ssh command a person runs to reach an ssh:// Docker host: `words` first (e.g. a tunnel), then
 * the port, the host key the stack pins (so ssh trusts only it, not ~/.ssh/known_hosts), then the
 * same ssh options the Docker provider uses (e.g. -i <key>); all quoted for a POSIX shell.
 * BatchMode is left out: a person may have to type a key's passphrase.
 */
export function sshCommandLine(
  dockerHost: string,
  hostKey: string | undefined,
  sshOpts: readonly string[],
  words: readonly string[] = [],
): string {
  const docker = parseDockerHost(dockerHost);
  if (docker?.kind !== "ssh") {
    throw new Error(`not an ssh:// Docker host: ${dockerHost}`);
  }
  const port = docker.port ? ["-p", docker.port] : [];
  const pinned = hostKey ? pinnedSshOptions(hostKey) : [];
  const interactive = pinned.filter((o, i) => o !== "BatchMode=yes" && pinned[i + 1] !== "BatchMode=yes");
  return `ssh ${[...words, ...port, ...interactive, ...sshOpts].map(shellQuote).join(" ")} ${docker.user}@${docker.host}`;
}
