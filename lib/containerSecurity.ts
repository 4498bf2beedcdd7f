/**
 * What each container may do beyond running its process (CIS Docker Benchmark section 5), as pure
 * data: the user it starts as, the capabilities it keeps after all are dropped, its CPU weight and
 * the networks it joins. components/serviceContainer.ts applies them; the e2e suite shows each
 * image starting with them on the real engine.
 */
import { createHash } from "crypto";
import { BACKUP_CONFIG_DIR } from "./backups";
import { HOSTNAMES, NGINX_CONFIG_DIR, NGINX_TEMP_DIR, REDIS_CONFIG_DIR } from "./constants";

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
 * The backup containers run as root without capabilities: they write the backups volume, which
 * Docker creates root-owned (neither image has /backups to copy ownership from), and
 * backup-open-webui restores Open WebUI's root-owned files; without CAP_DAC_OVERRIDE, CAP_CHOWN or
 * CAP_FOWNER, root there can write only what root owns.
 */
export const CONTAINER_PRIVILEGES: Readonly<Record<ServiceKey, ContainerPrivileges>> = {
  postgres: { user: "999:999", capAdd: [] },
  redis: { user: "999:999", capAdd: [] },
  nginx: { capAdd: ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID"] },
  litellm: { capAdd: [] },
  openWebui: { capAdd: [] },
  backupLitellm: { user: "0:0", capAdd: [] },
  backupOpenWebui: { user: "0:0", capAdd: [] },
};

/**
 * A container's root filesystem (CIS 5.12). A read-only root keeps the image's files as shipped:
 * whatever runs in the container can change nothing in it but its tmpfs mounts (memory, empty at
 * every start) and its volumes.
 */
export type RootFilesystem =
  | { readonly readOnly: false }
  | {
      readonly readOnly: true;
      /** The directories the service writes at run time, each a tmpfs: path to Docker's tmpfs options. */
      readonly tmpfs: Readonly<Record<string, string>>;
      /**
       * Where its uploaded files go, if it has any. Docker refuses to copy files into a read-only
       * root, and the docker provider copies every upload to `/`, which Docker refuses even for a
       * file that would land in a volume. So the files are uploaded into a config volume through a
       * container that is created and never started, and the service mounts that volume here,
       * read-only (components/serviceContainer.ts).
       */
      readonly configDir?: string;
    };

/**
 * nginx, PostgreSQL and Redis run on read-only roots; each tmpfs is sized for what the service
 * keeps there and counts towards the container's memory limit only as far as it is used.
 * - nginx: its temp directories (rendered into nginx.conf, so the same in every image; they stay
 *   empty, since every proxied location streams both ways), the pid file (/var/run, a link to
 *   /run in the official image and the stand-in) and /tmp. Its files are on its config volume.
 * - PostgreSQL: the socket directory and /tmp (runtime/postgres-start.sh's marker); the data is on
 *   its volume, shared memory on /dev/shm. Its start script is its command, so it uploads nothing.
 * - Redis: /tmp only; it keeps nothing on disk (its working directory /data is the image's
 *   volume). redis.conf is on its config volume.
 * - The backup containers: /tmp only (pg_dump and Python's tempfile keep nothing big there: the
 *   partial snapshots are written beside the finished ones in the backups volume); their scripts
 *   and settings are on their config volume.
 * LiteLLM and Open WebUI stay writable: they write into their images at start (LiteLLM's prisma
 * into site-packages; Open WebUI its static files into /app).
 */
export const ROOT_FILESYSTEMS: Readonly<Record<ServiceKey, RootFilesystem>> = {
  postgres: { readOnly: true, tmpfs: { "/var/run/postgresql": "size=1m", "/tmp": "size=1m" } },
  nginx: {
    readOnly: true,
    tmpfs: { [NGINX_TEMP_DIR]: "size=16m", "/run": "size=1m", "/tmp": "size=1m" },
    configDir: NGINX_CONFIG_DIR,
  },
  redis: { readOnly: true, tmpfs: { "/tmp": "size=1m" }, configDir: REDIS_CONFIG_DIR },
  litellm: { readOnly: false },
  openWebui: { readOnly: false },
  backupLitellm: { readOnly: true, tmpfs: { "/tmp": "size=16m" }, configDir: BACKUP_CONFIG_DIR },
  backupOpenWebui: { readOnly: true, tmpfs: { "/tmp": "size=16m" }, configDir: BACKUP_CONFIG_DIR },
};

/**
 * The uploads a read-only container could not receive: with no config directory, all of them;
 * with one, those not directly in it (the volume starts empty, so there is no subdirectory to
 * copy into). A writable container takes them anywhere.
 */
export function uploadsOutsideConfigDir(root: RootFilesystem, files: readonly string[]): string[] {
  if (!root.readOnly) {
    return [];
  }
  if (root.configDir === undefined) {
    return [...files];
  }
  const dir = root.configDir.endsWith("/") ? root.configDir : `${root.configDir}/`;
  return files.filter((file) => !file.startsWith(dir) || file.slice(dir.length).includes("/"));
}

/** One uploaded file as it lands in a config volume. */
export interface ConfigFile {
  readonly file: string;
  readonly content: string;
  readonly permissions: string;
}

/**
 * The name of the config volume that holds exactly `files`: the container's name and a digest of
 * the files. Other files give another volume, so a changed config reaches a new, empty volume (a
 * file the new config no longer has, such as the TLS key once TLS is off, is not carried over)
 * and the service container, whose mount changes, is replaced and reads it; the old volume is
 * removed with the old container. Twelve hex digits of SHA-256 reveal nothing of a secret among
 * the files (each holds a generated password or a key), and tell configs apart.
 */
export function configVolumeName(containerName: string, files: readonly ConfigFile[]): string {
  const canonical = [...files]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    .map(({ file, content, permissions }) => [file, permissions, content]);
  const digest = createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 12);
  return `${containerName}-config-${digest}`;
}

/**
 * Relative CPU weights (Docker's default is 1024). They only matter when the host's CPUs are all
 * busy: then the API path (nginx, LiteLLM) gets four times Open WebUI's share, so an embedding
 * job in Open WebUI cannot starve API clients; PostgreSQL and Redis, which LiteLLM waits on, get
 * twice its share. The backup containers get the least: a snapshot may take longer on a busy host,
 * a request may not.
 */
export const CPU_SHARES: Readonly<Record<ServiceKey, number>> = {
  nginx: 2048,
  litellm: 2048,
  postgres: 1024,
  redis: 1024,
  openWebui: 512,
  backupLitellm: 256,
  backupOpenWebui: 256,
};

/**
 * The gateway's networks:
 * - backend (internal): PostgreSQL and Redis with LiteLLM, their only client;
 * - frontend (internal): nginx with the two services it proxies, LiteLLM and Open WebUI;
 * - egress: the way out to the internet, for LiteLLM (the LLM providers) and, when asked, Open WebUI;
 * - edge: nginx alone. Docker publishes ports only from a non-internal network, so nginx needs
 *   one; it has no NAT (ip masquerade off), so nginx gets no route to the internet through it.
 * backup-litellm joins the backend network (PostgreSQL); backup-open-webui reads Open WebUI's
 * volume and needs no network, unless the backups are copied to S3: then egress.
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
export function serviceNetworks(service: ServiceKey, options: { openWebuiEgress: boolean; backupS3?: boolean }): NetworkRole[] {
  switch (service) {
    case "postgres":
    case "redis":
    case "backupLitellm":
      return ["backend"];
    case "backupOpenWebui":
      return options.backupS3 === true ? ["egress"] : [];
    case "litellm":
      return ["backend", "frontend", "egress"];
    case "openWebui":
      return options.openWebuiEgress ? ["frontend", "egress"] : ["frontend"];
    case "nginx":
      return ["frontend", "edge"];
  }
}
