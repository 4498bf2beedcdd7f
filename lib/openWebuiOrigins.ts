/**
 * The browser origins Open WebUI must accept. Open WebUI 0.11.4 hands CORS_ALLOW_ORIGIN to its
 * Socket.IO server as `cors_allowed_origins` (socket/main.py, module level), and python-engineio
 * refuses a websocket whose Origin header is not in that list with 400 "... is not an accepted
 * origin". The chat streams over that websocket, so every address a user can open the gateway at
 * must be listed, not just publicUrl (docs/open-webui-facts.md §2).
 */
import { remoteDockerHost } from "./dockerHost";
import { isLoopback } from "./proxySettings";
import type { GatewaySettings } from "./settings";

export interface OriginInputs {
  /** The gateway's public origin (already an origin: validate.publicUrl returns url.origin). */
  readonly publicUrl: string;
  /** Host address nginx's public port is bound to. */
  readonly bindAddress: string;
  /** Host port of the plain HTTP listener. */
  readonly httpPort: number;
  /** With TLS plain HTTP only redirects to publicUrl, so only https origins serve the app. */
  readonly tls: boolean;
  readonly domain: string | undefined;
  readonly httpsPort: number;
  /** The Docker endpoint: an ssh:// or tcp:// host is a name users may reach the machine by. */
  readonly dockerHost: string;
  /** Further host names or addresses the machine is reached at (e.g. a VPS's public address). */
  readonly extraHosts?: readonly string[];
}

/** `scheme://host[:port]` exactly as a browser writes the Origin header (no default port, no slash). */
function origin(scheme: "http" | "https", host: string, port: number): string {
  return new URL(`${scheme}://${host}:${port}`).origin;
}

/**
 * Every origin the gateway serves Open WebUI at, publicUrl first, without duplicates:
 * - publicUrl, and with TLS `https://domain[:httpsPort]` (plain HTTP only redirects);
 * - without TLS, on the HTTP port: the domain if set; for a loopback bind, the bound address plus
 *   `localhost` and `127.0.0.1` (a browser on the host, or an ssh tunnel to the same port, may use
 *   either name); for 0.0.0.0, `localhost`, `127.0.0.1` and the remote Docker host's name (the
 *   machine's own addresses are not known before deploy: give them as publicUrl or extraHosts);
 *   for one interface's address, that address;
 * - extraHosts, on the scheme and port users reach them with.
 */
export function openWebuiOrigins(input: OriginInputs): string[] {
  const origins = [new URL(input.publicUrl).origin];
  const scheme = input.tls ? "https" : "http";
  const port = input.tls ? input.httpsPort : input.httpPort;
  const hosts: string[] = [];
  if (input.domain !== undefined) {
    hosts.push(input.domain);
  }
  if (!input.tls) {
    if (input.bindAddress === "0.0.0.0") {
      hosts.push("localhost", "127.0.0.1");
      const remote = remoteDockerHost(input.dockerHost);
      if (remote !== undefined) {
        hosts.push(remote);
      }
    } else {
      hosts.push(input.bindAddress);
      if (isLoopback(input.bindAddress)) {
        hosts.push("localhost", "127.0.0.1");
      }
    }
  }
  hosts.push(...(input.extraHosts ?? []));
  for (const host of hosts) {
    const candidate = origin(scheme, host, port);
    if (!origins.includes(candidate)) {
      origins.push(candidate);
    }
  }
  return origins;
}

/**
 * CORS_ALLOW_ORIGIN's format: Open WebUI splits on ";" without trimming (config.py, module level:
 * `os.getenv('CORS_ALLOW_ORIGIN', '*').split(';')`) and stops at start-up when an entry is not an
 * http(s) URL with a host (config.py:validate_cors_origin), so entries are joined with a bare ";".
 */
export function corsAllowOrigin(origins: readonly string[]): string {
  for (const entry of origins) {
    const url = new URL(entry);
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== entry) {
      throw new Error(`not a browser origin: ${entry}`);
    }
  }
  return origins.join(";");
}

/** The origins of a gateway's resolved settings (what components/gateway.ts gives Open WebUI). */
export function originsOfSettings(settings: GatewaySettings, extraHosts?: readonly string[]): string[] {
  return openWebuiOrigins({
    publicUrl: settings.publicUrl,
    bindAddress: settings.bindAddress,
    httpPort: settings.httpPort,
    tls: settings.proxy.tls,
    domain: settings.proxy.domain,
    httpsPort: settings.proxy.httpsPort,
    dockerHost: settings.dockerHost,
    ...(extraHosts !== undefined ? { extraHosts } : {}),
  });
}
