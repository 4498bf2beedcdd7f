/**
 * Fixed facts about the containers the gateway runs. They are constants rather than settings
 * because the images, the healthchecks and nginx must all agree on them.
 */

/** Port LiteLLM listens on inside the private network. */
export const LITELLM_PORT = 4000;
/** Port Open WebUI's image listens on (`ENV PORT=8080`). */
export const OPEN_WEBUI_PORT = 8080;
/** PostgreSQL's port inside the private network; never published on the host. */
export const POSTGRES_PORT = 5432;
/** Port nginx serves the public listener on inside its container. */
export const NGINX_PUBLIC_PORT = 8080;
/** Port nginx serves the admin listener on inside its container. */
export const NGINX_ADMIN_PORT = 8081;
/** Loopback-only port inside the nginx container for its own Docker healthcheck. */
export const NGINX_HEALTH_PORT = 8079;
/** Redis's port inside the private network; never published on the host. */
export const REDIS_PORT = 6379;

/** DNS names (network aliases) the containers answer to on the private network. */
export const HOSTNAMES = {
  postgres: "postgres",
  litellm: "litellm",
  openWebui: "open-webui",
  nginx: "nginx",
  redis: "redis",
  backupLitellm: "backup-litellm",
  backupOpenWebui: "backup-open-webui",
} as const;

/** Docker's embedded DNS server, reachable from every container on a user-defined network. */
export const DOCKER_DNS = "127.0.0.11";

/**
 * Seconds a client of another container keeps its resolved address: nginx (`resolver ... valid=`)
 * and Open WebUI's connection pool to LiteLLM (AIOHTTP_POOL_DNS_TTL). A replaced container comes
 * back at a new address, and each follows it within this time, without a restart.
 */
export const UPSTREAM_DNS_TTL_SECONDS = 10;

/** PostgreSQL role and database LiteLLM owns. */
export const POSTGRES_USER = "litellm";
export const POSTGRES_DB = "litellm";
/** runtime/postgres-start.sh's name in the process list (its $0), and the file it touches once the role has the stack's password. */
export const POSTGRES_START_SCRIPT = "ai-gateway-postgres-start";
export const POSTGRES_PASSWORD_APPLIED = "/tmp/ai-gateway-role-password-applied";
/** PGDATA of the official postgres:16 image; the data volume must be mounted exactly here. */
export const POSTGRES_DATA_DIR = "/var/lib/postgresql/data";

/**
 * Where the generated redis.conf is placed: the official image's documented location for a custom
 * config. It holds the password, so it is uploaded as a secret and never put on a command line.
 */
export const REDIS_CONFIG_DIR = "/usr/local/etc/redis";
export const REDIS_CONFIG_PATH = `${REDIS_CONFIG_DIR}/redis.conf`;

/**
 * nginx's uploaded files (nginx.conf, the TLS certificate and key) are in this directory, the mount
 * point of its config volume (lib/containerSecurity.ts: ROOT_FILESYSTEMS); nginx is started with
 * `-c` on the file in it.
 */
export const NGINX_CONFIG_DIR = "/etc/nginx/ai-gateway";
export const NGINX_CONFIG_FILE = `${NGINX_CONFIG_DIR}/nginx.conf`;
/** nginx's temp directories (client bodies, proxied responses): the official image's place, a tmpfs here. */
export const NGINX_TEMP_DIR = "/var/cache/nginx";

/** Where the generated LiteLLM config is placed: a single file, never a directory over /app. */
export const LITELLM_CONFIG_PATH = "/app/config.yaml";
/** Open WebUI's data directory (SQLite database, uploads, vector store, bundled models). */
export const OPEN_WEBUI_DATA_DIR = "/app/backend/data";
/**
 * The file Open WebUI's start.sh reads WEBUI_SECRET_KEY from when the environment has none (its
 * `.webui_secret_key`, in its own directory): the stack uploads the key there, 0600, instead of
 * putting it in the container's environment.
 */
export const OPEN_WEBUI_SECRET_KEY_FILE = "/app/backend/.webui_secret_key";

/** LiteLLM opens this many database connections per worker (general_settings.database_connection_pool_limit). */
export const LITELLM_DB_POOL_PER_WORKER = 10;

/**
 * Timeouts of the three hops a request crosses (nginx -> Open WebUI -> LiteLLM -> provider), from
 * the inside out. Each hop limits SILENCE (the time between two reads), never the duration of a
 * response, so a streamed reply that keeps producing tokens runs as long as it needs; and a silent
 * provider is given up innermost first, so the client gets LiteLLM's error rather than a bare 504.
 * What each setting measures was read in the upstream code (README, "Timeouts"):
 *  - LiteLLM 1.110.1: `request_timeout` / router `timeout` reach the provider's httpx client as a
 *    per-operation limit (per read: the wait for the first byte, then between chunks). The router
 *    retries a timed-out call `num_retries` times unless `retry_policy.TimeoutErrorRetries` says
 *    otherwise; lib/litellmConfig.ts sets it to 0 so a silent provider is called once.
 *  - Open WebUI 0.11.4: AIOHTTP_CLIENT_TIMEOUT is aiohttp's `total`, which also bounds a streamed
 *    body, so it stays unset (empty = no limit); AIOHTTP_CLIENT_STREAM_IDLE_TIMEOUT is `sock_read`,
 *    a per-read limit on streamed calls. A non-streamed call has no limit there: LiteLLM answers it.
 *  - nginx: proxy_read_timeout / proxy_send_timeout apply between two reads / writes.
 * Each outer hop waits a minute longer than the one inside it, so the inner hop's error (sent the
 * moment its limit fires) has arrived before the outer limit could fire.
 */
/** Longest a provider may stay silent (before its first byte or between chunks) before LiteLLM gives up. */
export const REQUEST_BUDGET_SECONDS = 600;
/** Longest silence Open WebUI accepts on a streamed call to LiteLLM (AIOHTTP_CLIENT_STREAM_IDLE_TIMEOUT). */
export const OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS = REQUEST_BUDGET_SECONDS + 60;
/** nginx's proxy_read_timeout / proxy_send_timeout on the HTTP routes. */
export const NGINX_PROXY_TIMEOUT_SECONDS = REQUEST_BUDGET_SECONDS + 120;

/** Length of generated keys after their `sk-` prefix, and the shortest master key we accept. */
export const GENERATED_KEY_LENGTH = 48;
export const MIN_MASTER_KEY_LENGTH = 32;

/** Log rotation applied to every container (json-file driver). */
export const LOG_OPTIONS = { "max-size": "10m", "max-file": "3" } as const;
