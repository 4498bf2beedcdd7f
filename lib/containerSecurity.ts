/**
 * What each container may do beyond running its process (CIS Docker Benchmark section 5), as pure
 * data: the user it starts as, the capabilities it keeps after all are dropped, its CPU weight and
 * the networks it joins. components/serviceContainer.ts applies them; the e2e suite shows each
 * image starting with them on the real engine.
 */
import { HOSTNAMES } from "./constants";

/** The gateway's services, by their key in HOSTNAMES. */
export type ServiceKey = keyof typeof HOSTNAMES;

export interface ContainerPrivileges {
  /** `uid:gid` the container starts as. Default: the image's own user. */
  readonly user?: string;
  /**
   * Capabilities kept after `drop ALL`, with Docker's `CAP_` prefix: the engine stores them that
   * way, and the provider compares what it reads back with what it was given.
   */
  readonly capAdd: readonly string[];
}

/**
 * PostgreSQL and Redis start as their images' own user (999 in both official images) instead of
 * root, so their entrypoints skip the chown and the switch to that user and need no capability:
 * a new volume gets the image's postgres-owned data directory, and one a root-started entrypoint
 * initialised is postgres-owned already. nginx's master starts as root and needs CHOWN (its temp
 * directories) and SETUID/SETGID (its workers run as user nginx). LiteLLM and Open WebUI neither
 * chown nor switch users (LiteLLM's image runs as 65532, Open WebUI's as root on files root owns).
 */
export const CONTAINER_PRIVILEGES: Readonly<Record<ServiceKey, ContainerPrivileges>> = {
  postgres: { user: "999:999", capAdd: [] },
  redis: { user: "999:999", capAdd: [] },
  nginx: { capAdd: ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"] },
  litellm: { capAdd: [] },
  openWebui: { capAdd: [] },
};

/**
 * Relative CPU weights (Docker's default is 1024). They only matter when the host's CPUs are all
 * busy: then the API path (nginx, LiteLLM) gets four times Open WebUI's share, so an embedding
 * job in Open WebUI cannot starve API clients; PostgreSQL and Redis, which LiteLLM waits on, get
 * twice its share.
 */
export const CPU_SHARES: Readonly<Record<ServiceKey, number>> = {
  nginx: 2048,
  litellm: 2048,
  postgres: 1024,
  redis: 1024,
  openWebui: 512,
};

/**
 * The gateway's networks:
 * - backend (internal): PostgreSQL and Redis with LiteLLM, their only client;
 * - frontend (internal): nginx with the two services it proxies, LiteLLM and Open WebUI;
 * - egress: the way out to the internet, for LiteLLM (the LLM providers) and, when asked, Open WebUI;
 * - edge: nginx alone. Docker publishes ports only from a non-internal network, so nginx needs
 *   one; it has no NAT (ip masquerade off), so nginx gets no route to the internet through it.
 */
export type NetworkRole = "backend" | "frontend" | "egress" | "edge";

export interface NetworkSpec {
  /** No gateway: the members reach each other and nothing else. */
  readonly internal: boolean;
  /** Docker's bridge driver options. */
  readonly options: Readonly<Record<string, string>>;
}

export const NETWORKS: Readonly<Record<NetworkRole, NetworkSpec>> = {
  backend: { internal: true, options: {} },
  frontend: { internal: true, options: {} },
  egress: { internal: false, options: {} },
  edge: { internal: false, options: { "com.docker.network.bridge.enable_ip_masquerade": "false" } },
};

export const NETWORK_ROLES = Object.keys(NETWORKS) as NetworkRole[];

/** The networks a service joins, in a fixed order (the provider keeps the order it was given). */
export function serviceNetworks(service: ServiceKey, options: { openWebuiEgress: boolean }): NetworkRole[] {
  switch (service) {
    case "postgres":
    case "redis":
      return ["backend"];
    case "litellm":
      return ["backend", "frontend", "egress"];
    case "openWebui":
      return options.openWebuiEgress ? ["frontend", "egress"] : ["frontend"];
    case "nginx":
      return ["frontend", "edge"];
  }
}
