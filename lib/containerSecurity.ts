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
 * A container's root filesystem (CIS 5.12). A read-only root keeps the image's files as shipped;
 * the service writes only to its volumes and to tmpfs mounts (path to Docker's tmpfs options).
 */
export type RootFilesystem = { readonly readOnly: false } | { readonly readOnly: true; readonly tmpfs: Readonly<Record<string, string>> };

/**
 * PostgreSQL runs on a read-only root: it writes its data volume, its socket directory and /tmp
 * (runtime/postgres-start.sh's marker), each tmpfs sized for files of a few bytes. The others
 * stay writable because they receive uploaded files, which the docker provider copies into the
 * container at `/` before the start, and Docker refuses any copy to `/` on a read-only root
 * ("container rootfs is marked read-only"), even for a file that would land in a volume. LiteLLM
 * and Open WebUI also write into their images at start (prisma into site-packages; static files
 * into /app).
 */
export const ROOT_FILESYSTEMS: Readonly<Record<ServiceKey, RootFilesystem>> = {
  postgres: { readOnly: true, tmpfs: { "/var/run/postgresql": "size=1m", "/tmp": "size=1m" } },
  nginx: { readOnly: false },
  redis: { readOnly: false },
  litellm: { readOnly: false },
  openWebui: { readOnly: false },
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
