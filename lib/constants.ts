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
} as const;

/** Docker's embedded DNS server, reachable from every container on a user-defined network. */
export const DOCKER_DNS = "127.0.0.11";

/** PostgreSQL role and database LiteLLM owns. */
export const POSTGRES_USER = "litellm";
export const POSTGRES_DB = "litellm";
/** Where runtime/postgres-start.sh is uploaded, and the file it touches once the role has the stack's password. */
export const POSTGRES_START_SCRIPT = "/usr/local/bin/ai-gateway-postgres-start";
export const POSTGRES_PASSWORD_APPLIED = "/tmp/ai-gateway-role-password-applied";
/** PGDATA of the official postgres:16 image; the data volume must be mounted exactly here. */
export const POSTGRES_DATA_DIR = "/var/lib/postgresql/data";

/**
 * Where the generated redis.conf is placed: the official image's documented location for a custom
 * config. It holds the password, so it is uploaded as a secret and never put on a command line.
 */
export const REDIS_CONFIG_PATH = "/usr/local/etc/redis/redis.conf";

/** Where the generated LiteLLM config is placed: a single file, never a directory over /app. */
export const LITELLM_CONFIG_PATH = "/app/config.yaml";
/** Open WebUI's data directory (SQLite database, uploads, vector store, bundled models). */
export const OPEN_WEBUI_DATA_DIR = "/app/backend/data";

/** LiteLLM opens this many database connections per worker (general_settings.database_connection_pool_limit). */
export const LITELLM_DB_POOL_PER_WORKER = 10;

/**
 * The gateway's request budget: the longest a single LLM request may take end to end.
 * Every hop's timeout is derived from it so that the innermost hop gives up first:
 * LiteLLM (600 s) < Open WebUI's backend client (660 s) < nginx (720 s).
 */
export const REQUEST_BUDGET_SECONDS = 600;
export const OPEN_WEBUI_BACKEND_TIMEOUT_SECONDS = REQUEST_BUDGET_SECONDS + 60;
export const NGINX_PROXY_TIMEOUT_SECONDS = REQUEST_BUDGET_SECONDS + 120;

/** Length of generated keys after their `sk-` prefix, and the shortest master key we accept. */
export const GENERATED_KEY_LENGTH = 48;
export const MIN_MASTER_KEY_LENGTH = 32;

/** Log rotation applied to every container (json-file driver). */
export const LOG_OPTIONS = { "max-size": "10m", "max-file": "3" } as const;
