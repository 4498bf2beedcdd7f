/**
 * What each service runs: its arguments, environment and healthcheck, as pure data. Components
 * wire these into containers; tests run the commands for real.
 */
import { PostgresTuning } from "../profiles";
import {
  HOSTNAMES,
  LITELLM_CONFIG_PATH,
  LITELLM_PORT,
  NGINX_CONFIG_FILE,
  NGINX_HEALTH_PORT,
  OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS,
  OPEN_WEBUI_PORT,
  POSTGRES_DB,
  POSTGRES_PASSWORD_APPLIED,
  POSTGRES_PORT,
  POSTGRES_START_SCRIPT,
  POSTGRES_USER,
  REDIS_CONFIG_PATH,
  REDIS_PORT,
  UPSTREAM_DNS_TTL_SECONDS,
} from "./constants";
import { HealthcheckSpec, pythonHttpProbe } from "./healthchecks";
import { corsAllowOrigin } from "./openWebuiOrigins";
import { LITELLM_REDIS_PASSWORD_ENV } from "./redisConfig";
import { scramSha256Verifier } from "./scram";

/**
 * The container's command: runtime/postgres-start.sh (its text, `script`), which starts the server
 * through the image's own entrypoint with the profile's `-c` flags, then gives the role the
 * stack's password. It is run by `sh -c` rather than uploaded: the root filesystem is read-only,
 * and the provider copies uploads to `/`, which Docker refuses on a read-only root.
 */
export function postgresCommand(tuning: PostgresTuning, script: string): string[] {
  return ["sh", "-c", script, POSTGRES_START_SCRIPT, ...postgresServerArgs(tuning)];
}

/** `postgres -c ...` flags from the profile; the image's entrypoint passes them to the server. */
export function postgresServerArgs(tuning: PostgresTuning): string[] {
  const settings: [string, string][] = [
    ["max_connections", String(tuning.maxConnections)],
    ["shared_buffers", `${tuning.sharedBuffersMb}MB`],
    ["effective_cache_size", `${tuning.effectiveCacheSizeMb}MB`],
    ["work_mem", `${tuning.workMemMb}MB`],
    ["maintenance_work_mem", `${tuning.maintenanceWorkMemMb}MB`],
  ];
  return ["postgres", ...settings.flatMap(([key, value]) => ["-c", `${key}=${value}`])];
}

/**
 * Over TCP on 127.0.0.1: during first initialisation the image runs a temporary server that
 * listens on the unix socket only, and a socket probe would report that server as ready
 * (docker-library/postgres#880). Healthy also means the role has the stack's password, so LiteLLM
 * is never started against a role that would refuse it.
 */
export function postgresHealthcheck(): HealthcheckSpec {
  return {
    test: [
      "CMD-SHELL",
      `pg_isready -h 127.0.0.1 -p ${POSTGRES_PORT} -U ${POSTGRES_USER} -d ${POSTGRES_DB} && test -e ${POSTGRES_PASSWORD_APPLIED}`,
    ],
    intervalSeconds: 5,
    timeoutSeconds: 5,
    retries: 10,
    startPeriodSeconds: 30,
  };
}

/**
 * The official image creates this role and database on first initialisation of an empty volume,
 * and runtime/postgres-start.sh gives the role the password on every start. Both are handed the
 * password's SCRAM-SHA-256 verifier, never the password: PostgreSQL stores a verifier as given,
 * also from initdb (which sets the password with ALTER USER), so the password itself is in no
 * file, environment or statement of this container; only LiteLLM's DATABASE_URL holds it.
 */
export function postgresEnv(password: string): string[] {
  return toEnvList({ POSTGRES_DB: POSTGRES_DB, POSTGRES_USER: POSTGRES_USER, POSTGRES_PASSWORD: scramSha256Verifier(password) });
}

/** The official image's entrypoint runs `redis-server` as the redis user with the uploaded config. */
export function redisCommand(): string[] {
  return ["redis-server", REDIS_CONFIG_PATH];
}

/**
 * PING over TCP with the password from the config file (redis-cli reads REDISCLI_AUTH, so it is on
 * no command line). Healthy means Redis answers an authenticated client: a wrong password, a
 * NOAUTH or a loading dataset print something other than PONG, and redis-cli's exit code alone
 * would not tell.
 */
export function redisHealthcheck(): HealthcheckSpec {
  return {
    test: [
      "CMD-SHELL",
      `REDISCLI_AUTH="$(sed -n 's/^requirepass //p' ${REDIS_CONFIG_PATH})" redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping | grep -qx PONG`,
    ],
    intervalSeconds: 5,
    timeoutSeconds: 5,
    retries: 5,
    startPeriodSeconds: 10,
  };
}

/**
 * Worker recycling against LiteLLM's slow memory growth: each worker is replaced after serving
 * `maxRequests` + a random 0..`jitter` requests (Docker's health probes count, about 8,640 a day).
 */
export interface WorkerRecycling {
  readonly maxRequests: number;
  readonly jitter: number;
}

/** About once a day per worker on an idle gateway; the jitter keeps workers from recycling together. */
export const LITELLM_WORKER_RECYCLING: WorkerRecycling = { maxRequests: 10_000, jitter: 2_000 };

/**
 * Arguments to the LiteLLM image's own entrypoint (`exec litellm "$@"`; the entrypoint is left alone).
 *
 * Several workers run under uvicorn's process manager, which starts a new worker (spawned, not
 * forked) when one reaches its request limit; the jitter staggers them, so the others serve
 * meanwhile (litellm 1.110.1 proxy_cli.py:run_server passes `limit_max_requests` and, with
 * uvicorn >= 0.41, `limit_max_requests_jitter`).
 *
 * One worker is never recycled: uvicorn then runs it without a manager, so at the limit the whole
 * process exits and Docker restarts the container; and gunicorn (`--run_gunicorn`) preloads the
 * app and forks, which here left a new worker hung in a lock at boot (a 600 s worker timeout), and
 * accepts nothing while its only worker is replaced. LiteLLM's own start-up warning gives the same
 * advice (proxy_cli.py:single_worker_max_requests_warning). Its memory is then bounded by the
 * container's limit alone.
 */
export function litellmArgs(workers: number, recycling: WorkerRecycling = LITELLM_WORKER_RECYCLING): string[] {
  const args = ["--config", LITELLM_CONFIG_PATH, "--port", String(LITELLM_PORT), "--num_workers", String(workers)];
  if (workers < 2) {
    return args;
  }
  return [
    ...args,
    "--max_requests_before_restart",
    String(recycling.maxRequests),
    "--max_requests_before_restart_jitter",
    String(recycling.jitter),
  ];
}

/**
 * `/health/liveliness` needs no key and makes no LLM call. The long start period covers first-boot
 * Prisma migrations (1-5 minutes in the original's guide); a success ends it early.
 */
export function litellmHealthcheck(): HealthcheckSpec {
  return {
    test: pythonHttpProbe(`http://127.0.0.1:${LITELLM_PORT}/health/liveliness`, 5),
    intervalSeconds: 10,
    timeoutSeconds: 10,
    retries: 6,
    startPeriodSeconds: 300,
  };
}

/** Open WebUI's `/health` answers `{"status": true}` without auth once the app has started. */
export function openWebuiHealthcheck(): HealthcheckSpec {
  return {
    test: pythonHttpProbe(`http://127.0.0.1:${OPEN_WEBUI_PORT}/health`, 5),
    intervalSeconds: 10,
    timeoutSeconds: 10,
    retries: 6,
    startPeriodSeconds: 300,
  };
}

/**
 * The image's own command on the uploaded config, which is in nginx's config volume (its root is
 * read-only). The first word stays `nginx`, so the official entrypoint still runs its
 * /docker-entrypoint.d scripts; none of them needs to write (they skip a read-only /etc/nginx).
 */
export function nginxCommand(): string[] {
  return ["nginx", "-c", NGINX_CONFIG_FILE, "-g", "daemon off;"];
}

/** nginx answers its own health endpoint on a loopback-only listener inside its container. */
export function nginxHealthcheck(): HealthcheckSpec {
  return {
    test: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${NGINX_HEALTH_PORT}/healthz`],
    intervalSeconds: 10,
    timeoutSeconds: 5,
    retries: 3,
    startPeriodSeconds: 10,
  };
}

export interface OpenWebuiEnvInput {
  readonly publicUrl: string;
  /** Every origin users open Open WebUI at (lib/openWebuiOrigins.ts), publicUrl first. */
  readonly allowedOrigins: readonly string[];
  readonly apiKey: string;
  readonly adminEmail: string;
  readonly adminPassword: string;
  /** Whether its networks lead to the internet; without, it is told so (OFFLINE_MODE). Default false. */
  readonly internetAccess?: boolean;
}

/** Open WebUI's URL of LiteLLM, on the private network. */
export const OPEN_WEBUI_LITELLM_URL = `http://${HOSTNAMES.litellm}:${LITELLM_PORT}/v1`;

/**
 * The Open WebUI settings the stack declares, in the form runtime/open_webui_config.py enforces
 * through Open WebUI's admin API on every `pulumi up` (persistent config keeps everything else the
 * admin sets). The environment below seeds the same values on a new volume.
 */
export interface OpenWebuiDeclaredSettings {
  readonly openai: { readonly url: string; readonly key: string };
  /** Its default points at host.docker.internal:11434, unreachable on Linux: endless timeouts. */
  readonly ollama: false;
  readonly admin: {
    readonly WEBUI_URL: string;
    readonly ENABLE_SIGNUP: false;
    readonly DEFAULT_USER_ROLE: "pending";
    readonly ENABLE_COMMUNITY_SHARING: false;
  };
}

export function openWebuiDeclaredSettings(input: { publicUrl: string; apiKey: string }): OpenWebuiDeclaredSettings {
  return {
    openai: { url: OPEN_WEBUI_LITELLM_URL, key: input.apiKey },
    ollama: false,
    // The admin creates accounts; no visitor can make one, and a new account waits for approval.
    // Community sharing (upstream default on) sends a chat to openwebui.com from a user's "share":
    // off, and kept off, since the admin panel can turn it back on (a persistent setting).
    admin: { WEBUI_URL: input.publicUrl, ENABLE_SIGNUP: false, DEFAULT_USER_ROLE: "pending", ENABLE_COMMUNITY_SHARING: false },
  };
}

/**
 * Open WebUI's environment. Persistent config is on (Open WebUI's default): the settings Open WebUI
 * keeps in its database (the connection, signup, WEBUI_URL, task settings, ...) are seeded from
 * here on the first start only, and admin-panel changes survive restarts. The ones the stack
 * declares (openWebuiDeclaredSettings) are enforced on every `pulumi up` by the settings step
 * (components/openWebuiSettings.ts), so a rotated key or a new publicUrl still arrives.
 */
export function openWebuiEnv(input: OpenWebuiEnvInput): string[] {
  const declared = openWebuiDeclaredSettings(input);
  const env: Record<string, string> = {
    ENABLE_PERSISTENT_CONFIG: "True",
    OPENAI_API_BASE_URL: declared.openai.url,
    OPENAI_API_KEY: declared.openai.key,
    ENABLE_OPENAI_API: "True",
    ENABLE_OLLAMA_API: "False",
    WEBUI_URL: declared.admin.WEBUI_URL,
    // Also Socket.IO's origin allow-list: a browser at any other origin loses its websocket.
    CORS_ALLOW_ORIGIN: corsAllowOrigin(input.allowedOrigins),
    // The admin is created on first start when no user exists, which also turns signup off.
    WEBUI_ADMIN_EMAIL: input.adminEmail,
    WEBUI_ADMIN_PASSWORD: input.adminPassword,
    WEBUI_ADMIN_NAME: "Admin",
    ENABLE_SIGNUP: declared.admin.ENABLE_SIGNUP ? "True" : "False",
    DEFAULT_USER_ROLE: declared.admin.DEFAULT_USER_ROLE,
    ENABLE_COMMUNITY_SHARING: declared.admin.ENABLE_COMMUNITY_SHARING ? "True" : "False",
    // Plain environment (env.py), read at every start. Browsers reach Open WebUI at publicUrl, so
    // its scheme decides: Secure session and token cookies whenever users are on https (the
    // gateway's own TLS or a proxy in front); on plain http a Secure cookie would never come back.
    WEBUI_SESSION_COOKIE_SECURE: input.publicUrl.startsWith("https://") ? "True" : "False",
    WEBUI_AUTH_COOKIE_SECURE: input.publicUrl.startsWith("https://") ? "True" : "False",
    // Upstream's default too (env.py), written out: the catch-all /openai/{path} proxy would hand
    // any verified user every LiteLLM route with Open WebUI's key (review F15).
    ENABLE_OPENAI_API_PASSTHROUGH: "False",
    // aiohttp's `total` limit, which also cuts a streamed reply still producing tokens: empty means
    // none (Open WebUI 0.11.4 env.py). Written out so the intent holds whatever an image defaults
    // it to. Streams get a limit on silence instead (utils/session_pool.py, aiohttp `sock_read`).
    AIOHTTP_CLIENT_TIMEOUT: "",
    AIOHTTP_CLIENT_STREAM_IDLE_TIMEOUT: String(OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS),
    // Chats reach LiteLLM through one shared aiohttp session whose DNS cache keeps LiteLLM's
    // address for 300 s by default, and a failed connection does not empty it (Open WebUI 0.11.4
    // utils/session_pool.py, env.py; aiohttp 3.13.5): after LiteLLM is replaced at a new address,
    // every chat would fail for up to five minutes. Like nginx, Open WebUI re-resolves sooner.
    AIOHTTP_POOL_DNS_TTL: String(UPSTREAM_DNS_TTL_SECONDS),
    // Non-admin accounts would otherwise see no model until an admin grants each one
    // (utils/models.py:get_filtered_models); Open WebUI's LiteLLM virtual key already decides
    // which models it can reach, and only the admin creates accounts.
    BYPASS_MODEL_ACCESS_CONTROL: "True",
    // Follow-up suggestions are an extra completion after every answer, on the chat's own model
    // and Open WebUI's key budget. Titles and tags (once per chat) stay on.
    ENABLE_FOLLOW_UP_GENERATION: "False",
    // SQLite's default pool of 512 connections can exhaust the memory limit.
    DATABASE_POOL_SIZE: "8",
    // No Hugging Face round trip on every start; the bundled model is used.
    RAG_EMBEDDING_MODEL_AUTO_UPDATE: "False",
    // Without a way out (openWebuiEgress), Open WebUI 0.11.4 is told so: Hugging Face offline, no
    // model auto-updates, no version check (env.py, config.py), instead of each call timing out.
    ...(input.internetAccess ? {} : { OFFLINE_MODE: "True" }),
  };
  return toEnvList(env);
}

export interface LitellmEnvInput {
  readonly masterKey: string;
  readonly saltKey: string;
  readonly databaseUrl: string;
  readonly uiUsername: string;
  readonly uiPassword: string;
  readonly providerApiKeys: Readonly<Record<string, string>>;
  /** Redis's password when the workers share one (config.yaml reads it from the environment). */
  readonly redisPassword?: string;
}

export function litellmEnv(input: LitellmEnvInput): string[] {
  return toEnvList({
    ...input.providerApiKeys,
    // One worker has nothing to share, and LiteLLM's admin UI would show a "no Redis" banner.
    ...(input.redisPassword !== undefined
      ? { [LITELLM_REDIS_PASSWORD_ENV]: input.redisPassword }
      : { LITELLM_DISABLE_NO_REDIS_WARNING: "true" }),
    LITELLM_MASTER_KEY: input.masterKey,
    LITELLM_SALT_KEY: input.saltKey,
    DATABASE_URL: input.databaseUrl,
    STORE_MODEL_IN_DB: "True",
    // DEV mode loads a .env from the working directory.
    LITELLM_MODE: "PRODUCTION",
    LITELLM_LOG: "INFO",
    UI_USERNAME: input.uiUsername,
    UI_PASSWORD: input.uiPassword,
  });
}

/** KEY=VALUE list in a stable order, so two evaluations produce identical inputs. */
export function toEnvList(env: Readonly<Record<string, string>>): string[] {
  return Object.keys(env)
    .sort()
    .map((key) => `${key}=${env[key]}`);
}
