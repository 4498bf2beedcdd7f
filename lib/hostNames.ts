/**
 * The host names each nginx listener answers to (the Host header, and the TLS server name). A
 * request naming any other host gets 421 from a default server, so a web page whose DNS name an
 * attacker re-points at the gateway's address (DNS rebinding) cannot make a browser talk to
 * Open WebUI or LiteLLM's admin API: the browser still sends the attacker's name as Host.
 */
import { remoteDockerHost } from "./dockerHost";
import { isLoopback } from "./proxySettings";

/** What a listener accepts; compared without the port, case-insensitively (nginx's server_name). */
export interface AcceptedHosts {
  /** Host names and IPv4 addresses (and "[::1]"). */
  readonly names: readonly string[];
  /**
   * Also any IPv4 address literal except 0.0.0.0: for a listener on every interface, whose
   * addresses are not known before deploy. A literal address is never a rebinding (the browser's
   * origin is then that address itself); 0.0.0.0 is excluded because browsers send it for pages
   * that reach for the local machine ("0.0.0.0 day").
   */
  readonly anyIpv4?: boolean;
}

/** The names a browser or tool on the machine itself uses; a rebinding attacker cannot send them. */
export const LOOPBACK_HOST_NAMES = ["127.0.0.1", "localhost", "[::1]"] as const;

export interface PublicHostsInput {
  /** Host address the public port is bound to. */
  readonly bindAddress: string;
  /** The gateway's public origin (users, tunnels and proxies in front name its host). */
  readonly publicUrl: string;
  readonly domain: string | undefined;
  /** The Docker endpoint: an ssh:// or tcp:// host is a name users may reach the machine by. */
  readonly dockerHost: string;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

/** Loopback names plus the bind address for a loopback or single-interface bind; for 0.0.0.0 also the remote Docker host and any IPv4 literal. */
function byBind(bindAddress: string, dockerHost: string): AcceptedHosts {
  if (bindAddress === "0.0.0.0") {
    const remote = remoteDockerHost(dockerHost);
    return { names: [...LOOPBACK_HOST_NAMES, ...(remote !== undefined ? [remote.toLowerCase()] : [])], anyIpv4: true };
  }
  return { names: isLoopback(bindAddress) ? [...LOOPBACK_HOST_NAMES, bindAddress] : [bindAddress] };
}

/**
 * The public listeners (plain HTTP, and HTTPS with TLS) answer publicUrl's host and:
 * - with `domain`: the domain only (plus the loopback names on a loopback bind, which a rebinding
 *   page cannot send and a browser on the machine itself may use);
 * - without: the names of byBind (a tunnel or proxy in front names publicUrl's host).
 */
export function publicHosts(input: PublicHostsInput): AcceptedHosts {
  const urlHost = new URL(input.publicUrl).hostname;
  if (input.domain !== undefined) {
    const local = isLoopback(input.bindAddress) ? [...LOOPBACK_HOST_NAMES, input.bindAddress] : [];
    return { names: unique([input.domain, urlHost, ...local]) };
  }
  const bound = byBind(input.bindAddress, input.dockerHost);
  return { ...bound, names: unique([urlHost, ...bound.names]) };
}

/** The admin listener: the loopback names (ssh tunnels) plus its bind address, as byBind. */
export function adminHosts(adminBindAddress: string, dockerHost: string): AcceptedHosts {
  const bound = byBind(adminBindAddress, dockerHost);
  return { ...bound, names: unique([...LOOPBACK_HOST_NAMES, ...bound.names]) };
}
