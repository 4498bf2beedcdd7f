import { createPrivateKey, KeyObject, X509Certificate } from "crypto";
import { parseDockerHost } from "./dockerHost";
import { SettingError, shown, shownSecret } from "./errors";
import { MIN_MASTER_KEY_LENGTH } from "./constants";
import { LITELLM_PROVIDERS } from "./litellmProviders";

/**
 * Validators for gateway settings. Each returns the checked value or throws a SettingError whose
 * one-line message names the setting, the value and what is allowed.
 */

export function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) {
    return value as T;
  }
  throw new SettingError(key, shown(value), `must be one of ${allowed.join(", ")}`);
}

/** Host ports: 1024-65535, plus 80 and 443 where `privilegedAllowed` (nginx's public listener). */
export function hostPort(key: string, value: unknown, privilegedAllowed: boolean): number {
  const allowed = privilegedAllowed
    ? "must be a whole number from 1024 to 65535, or 80 or 443"
    : "must be a whole number from 1024 to 65535";
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new SettingError(key, shown(value), allowed);
  }
  if ((value >= 1024 && value <= 65535) || (privilegedAllowed && (value === 80 || value === 443))) {
    return value;
  }
  throw new SettingError(key, shown(value), allowed);
}

const IPV4_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4 = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

/**
 * An IPv4 address to publish a port on. IPv6 bindings are refused because the docker provider
 * re-creates containers with dual-stack bindings on every apply (terraform-provider-docker#909).
 */
export function bindAddress(key: string, value: unknown): string {
  if (typeof value === "string" && isIpv4(value)) {
    return value;
  }
  throw new SettingError(
    key,
    shown(value),
    "must be an IPv4 address such as 127.0.0.1 (this host only), 0.0.0.0 (every interface) or one interface's address",
  );
}

const FLOATING_TAGS = new Set(["latest", "main", "main-stable", "main-latest", "stable", "mainline", "alpine", "lts", "dev", "nightly"]);
/** An image reference: `[registry/]repository[:tag][@sha256:digest]`, with named groups repo, tag and digest. */
export const IMAGE_REF =
  /^(?<repo>(?:[A-Za-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/;

/**
 * An image reference pinned to a version tag or a digest. Rolling tags (`latest`, `main-stable`,
 * `alpine`, ...) are refused: they changed base OS, user and entrypoint within months (runtime-facts.md).
 */
export function pinnedImage(key: string, value: unknown): string {
  const allowed = "must be an image pinned to a version tag or digest, e.g. nginx:1.30.5-alpine or repo@sha256:<64 hex>";
  if (typeof value !== "string") {
    throw new SettingError(key, shown(value), allowed);
  }
  const match = IMAGE_REF.exec(value);
  if (!match?.groups) {
    throw new SettingError(key, shown(value), allowed);
  }
  const { tag, digest } = match.groups;
  if (digest) {
    return value;
  }
  if (!tag) {
    throw new SettingError(key, shown(value), `has no tag, which means "latest"; ${allowed}`);
  }
  if (FLOATING_TAGS.has(tag) || /^\d+$/.test(tag)) {
    throw new SettingError(key, shown(value), `"${tag}" is a rolling tag; ${allowed}`);
  }
  return value;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function isHost(value: string): boolean {
  return isIpv4(value) || HOSTNAME.test(value);
}

function isPortNumber(value: string): boolean {
  return /^[0-9]{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535;
}

/** The Docker endpoint: the local socket, an `ssh://user@host[:port]` or a `tcp://host:port`. */
export function dockerHost(key: string, value: unknown): string {
  const allowed = "must be unix:///path/to/docker.sock, ssh://user@host[:port] or tcp://host:port";
  if (typeof value !== "string") {
    throw new SettingError(key, shown(value), allowed);
  }
  const parts = parseDockerHost(value);
  if (parts?.kind === "unix") {
    return value;
  }
  if (parts && isHost(parts.host) && (parts.port === undefined || isPortNumber(parts.port))) {
    return value;
  }
  throw new SettingError(key, shown(value), allowed);
}

export function stringList(key: string, value: unknown): string[] {
  if (Array.isArray(value) && value.every((item) => typeof item === "string" && item.length > 0)) {
    return value as string[];
  }
  throw new SettingError(key, shown(value), "must be a list of non-empty strings");
}

/**
 * A user-supplied LiteLLM master key. LiteLLM requires the `sk-` prefix and refuses to start with a
 * weak key (`sk-1234`, empty, whitespace); we also require enough length to resist guessing.
 */
export function masterKey(key: string, value: string): string {
  if (!value.startsWith("sk-")) {
    throw new SettingError(key, shownSecret(value), 'must start with "sk-" (LiteLLM rejects other master keys)');
  }
  if (/\s/.test(value)) {
    throw new SettingError(key, shownSecret(value), "must not contain whitespace");
  }
  if (value.length < MIN_MASTER_KEY_LENGTH) {
    throw new SettingError(key, shownSecret(value), `must be at least ${MIN_MASTER_KEY_LENGTH} characters long`);
  }
  return value;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** Environment variables the gateway sets on LiteLLM itself; provider keys must not shadow them. */
export const RESERVED_LITELLM_ENV = new Set([
  "LITELLM_MASTER_KEY",
  "LITELLM_SALT_KEY",
  "DATABASE_URL",
  "STORE_MODEL_IN_DB",
  "LITELLM_MODE",
  "UI_USERNAME",
  "UI_PASSWORD",
  "LITELLM_LOG",
  // proxy_cli.py:run_server reads these as flag defaults (click `envvar=`): the recycling flags are
  // passed, so a variable of that name would silently do nothing; HOST is not passed, and a provider
  // key named HOST would move the proxy's listen address.
  "MAX_REQUESTS_BEFORE_RESTART",
  "MAX_REQUESTS_BEFORE_RESTART_JITTER",
  "HOST",
  // Redis: the password config.yaml's coordination_redis reads, and the banner switch of one worker.
  "REDIS_PASSWORD",
  "LITELLM_DISABLE_NO_REDIS_WARNING",
]);

/**
 * Names that steer LiteLLM's process instead of authenticating to a provider (review F12). A
 * deny-list, not an allow-list: LiteLLM reads provider settings from many names that are not
 * credential-shaped (AZURE_API_BASE, AZURE_API_VERSION, AWS_REGION_NAME, VERTEXAI_PROJECT,
 * VERTEXAI_LOCATION, OLLAMA_API_BASE, WATSONX_URL, ...), so a rule such as "ends in _API_KEY,
 * _TOKEN or _SECRET" would refuse configurations providers document, while the names that do harm
 * fall into a few families: code loading, the interpreter, egress, TLS trust, the database client
 * and LiteLLM's own switches.
 */
const PROCESS_CONTROL_ENV: readonly (readonly [RegExp, string])[] = [
  [/^(LD_|GLIBC_TUNABLES$|MALLOC_)/, "the dynamic loader and C library (code loaded into LiteLLM)"],
  [/^(PYTHON|NODE_)/, "the Python (or Node) interpreter"],
  [/_PROXY$/, "egress (an HTTP proxy every provider call and key would pass through)"],
  [/^SSL_|CA_BUNDLE$|_CA_CERTS?$|_CA_FILE$/, "TLS trust (which certificates LiteLLM believes)"],
  [/^(PATH|HOME|SHELL|USER|TMPDIR|TMP|TEMP|IFS|ENV|BASH_ENV|HOSTNAME)$/, "the process environment"],
  [/^(PRISMA_|DATABASE_|DIRECT_URL$)/, "the database client"],
  [/^(LITELLM_|UI_|PROXY_|DISABLE_|REDIS_|STORE_MODEL_IN_DB$)/, "LiteLLM's own settings"],
  // proxy_cli.py reads these as flag defaults (click `envvar=`).
  [
    /^(PORT|NUM_WORKERS|DEBUG|DETAILED_DEBUG|KEEPALIVE_TIMEOUT|LIMIT_CONCURRENCY|MAX_REQUEST_HEADER_SIZE|PROMETHEUS_METRICS_PORT|TIMEOUT_WORKER_HEALTHCHECK|GRANIAN_RUNTIME_THREADS)$/,
    "LiteLLM's command line",
  ],
];

/** Provider API keys, e.g. `{"OPENAI_API_KEY": "sk-..."}`, passed to LiteLLM as environment variables. */
export function providerKeyNames(key: string, names: string[]): string[] {
  for (const name of names) {
    if (!ENV_NAME.test(name)) {
      throw new SettingError(key, shown(name), "each name must be an environment variable name such as OPENAI_API_KEY");
    }
    if (RESERVED_LITELLM_ENV.has(name)) {
      throw new SettingError(key, shown(name), "is set by the gateway itself; choose another variable name");
    }
    const family = PROCESS_CONTROL_ENV.find(([pattern]) => pattern.test(name));
    if (family !== undefined) {
      throw new SettingError(
        key,
        shown(name),
        `controls ${family[1]}, not a provider credential; refused are LD_*, PYTHON*, *_PROXY, SSL_*, *CA_BUNDLE, PATH, HOME, PRISMA_*, DATABASE_*, LITELLM_*, UI_*, PROXY_*, DISABLE_*, REDIS_* and the like`,
      );
    }
  }
  return names;
}

/** An email address Open WebUI will accept for its admin account. */
export function email(key: string, value: unknown): string {
  if (typeof value === "string" && /^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/.test(value)) {
    return value;
  }
  throw new SettingError(key, shown(value), "must be an email address such as admin@example.com");
}

export function username(key: string, value: unknown): string {
  if (typeof value === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    return value;
  }
  throw new SettingError(key, shown(value), "must be 1-64 letters, digits, '.', '_' or '-'");
}

/** Longest publicUrl: scheme, a 253-character host name, a port and a trailing slash. */
export const MAX_PUBLIC_URL_LENGTH = "https://".length + 253 + ":65535/".length;

/**
 * The public origin users reach the gateway at; Open WebUI cannot live under a sub-path. The value
 * reaches nginx.conf (the TLS redirect), Open WebUI's WEBUI_URL and CORS list and a shell command
 * (apiForAgents.exampleCurl), so it has a strict grammar: http or https, a DNS name or IPv4 address
 * (IPv6 is not supported anywhere else either), an optional port 1-65535 and an optional "/".
 * WHATWG `new URL` is not that grammar: it keeps `; { } $ '` in hosts, maps fullwidth forms (NFKC)
 * and percent-decodes, and drops tabs and newlines. So the origin is rebuilt from the validated
 * parts and the input must spell exactly that origin (case aside), nothing else.
 */
export function publicUrl(key: string, value: unknown): string {
  const allowed =
    "must be an http:// or https:// origin (host name or IPv4 address, optional port) without a path, e.g. https://ai.example.com";
  if (typeof value !== "string") {
    throw new SettingError(key, shown(value), allowed);
  }
  if (value.length > MAX_PUBLIC_URL_LENGTH) {
    throw new SettingError(
      key,
      `${shown(value.slice(0, 40))}... (${value.length} characters)`,
      `is longer than ${MAX_PUBLIC_URL_LENGTH} characters; ${allowed}`,
    );
  }
  const match = /^(https?):\/\/([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?\/?$/i.exec(value);
  if (!match || !isHost(match[2]) || (match[3] !== undefined && !isPortNumber(match[3]))) {
    throw new SettingError(key, shown(value), allowed);
  }
  // A numeric last label makes browsers read the host as an IPv4 address in another spelling
  // (010.0.0.1 is 8.0.0.1, 0x7f.1 is 127.0.0.1): only the dotted-decimal form is taken.
  if (!isIpv4(match[2]) && /^(0x[0-9a-f]*|[0-9]+)$/i.test(match[2].split(".").pop()!)) {
    throw new SettingError(key, shown(value), allowed);
  }
  const scheme = match[1].toLowerCase();
  const host = match[2].toLowerCase();
  const port = match[3] === undefined ? undefined : Number(match[3]);
  const spelled = `${scheme}://${host}${port === undefined ? "" : `:${port}`}`;
  // Leading zeros in the port ("0443") are the only way the spelling can differ here; refuse them.
  if (value.toLowerCase() !== spelled && value.toLowerCase() !== `${spelled}/`) {
    throw new SettingError(key, shown(value), allowed);
  }
  const defaultPort = scheme === "https" ? 443 : 80;
  return `${scheme}://${host}${port === undefined || port === defaultPort ? "" : `:${port}`}`;
}

/** Parts of an origin publicUrl returned (already validated). */
export function originHost(origin: string): string {
  return new URL(origin).hostname;
}

export function prefix(key: string, value: unknown): string {
  if (typeof value === "string" && /^[a-z0-9][a-z0-9_.-]{0,40}$/.test(value)) {
    return value;
  }
  throw new SettingError(key, shown(value), "must be 1-41 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit");
}

/** A model exposed through LiteLLM's `model_list`. */
export interface ModelSpec {
  /** The name clients ask for (`model` in an OpenAI request). */
  readonly name: string;
  /** LiteLLM's model string, e.g. `openai/gpt-4o` or `anthropic/claude-sonnet-4-5`. */
  readonly model: string;
  /** Environment variable (one of providerApiKeys) holding this model's API key. */
  readonly apiKeyEnv?: string;
  /** Provider endpoint, for self-hosted or Azure-style deployments. */
  readonly apiBase?: string;
}

/**
 * A list setting whose entries are maps with known fields (models, apiKeys): checks the shape and
 * refuses unknown fields, returning each entry with the path to name it by in messages.
 */
export function recordList(
  key: string,
  value: unknown,
  shape: string,
  fields: readonly string[],
  noun: string,
): { where: string; fields: Record<string, unknown> }[] {
  if (!Array.isArray(value)) {
    throw new SettingError(key, shown(value), shape);
  }
  return value.map((entry: unknown, index) => {
    const where = `${key}[${index}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new SettingError(where, shown(entry), shape);
    }
    const record = entry as Record<string, unknown>;
    const unknownField = Object.keys(record).find((f) => !fields.includes(f));
    if (unknownField !== undefined) {
      throw new SettingError(`${where}.${unknownField}`, shown(record[unknownField]), `is not a ${noun} field; use ${fields.join(", ")}`);
    }
    return { where, fields: record };
  });
}

/** Refuses a name already in `seen` (entries of one list setting must have unique names), then records it. */
export function uniqueName(where: string, name: string, seen: Set<string>, noun: string): void {
  if (seen.has(name)) {
    throw new SettingError(`${where}.name`, shown(name), `is declared twice; ${noun} names must be unique`);
  }
  seen.add(name);
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
const MODEL_NAME_ALLOWED = "must be 1-128 letters, digits, '.', '_', ':', '/' or '-'";

/**
 * LiteLLM replaces any config string that starts with this by the environment variable (or secret
 * manager entry) it names, anywhere in config.yaml (proxy_server.py:_check_for_os_environ_vars), so
 * a model name or model string spelled that way would carry a secret into what clients see.
 */
const ENV_REFERENCE = "os.environ/";

function isModelName(value: string): boolean {
  return MODEL_NAME.test(value) && !value.startsWith(ENV_REFERENCE);
}

/** Model names clients ask for (continueModels): the names `models` may declare, nothing a shell or YAML reads specially. */
export function modelNames(key: string, value: unknown): string[] {
  const names = stringList(key, value);
  names.forEach((name, index) => {
    if (!isModelName(name)) {
      throw new SettingError(`${key}[${index}]`, shown(name), MODEL_NAME_ALLOWED);
    }
  });
  return names;
}

export function models(key: string, value: unknown, providerKeys: readonly string[]): ModelSpec[] {
  const shape = 'must be a list of {"name": ..., "model": ..., "apiKeyEnv"?: ..., "apiBase"?: ...} objects';
  const seen = new Set<string>();
  return recordList(key, value, shape, ["name", "model", "apiKeyEnv", "apiBase"], "model").map(({ where, fields }): ModelSpec => {
    const { name, model, apiKeyEnv, apiBase } = fields;
    if (typeof name !== "string" || !isModelName(name)) {
      throw new SettingError(`${where}.name`, shown(name), MODEL_NAME_ALLOWED);
    }
    uniqueName(where, name, seen, "model");
    const litellmModelString = litellmModel(`${where}.model`, model);
    if (apiKeyEnv !== undefined && (typeof apiKeyEnv !== "string" || !providerKeys.includes(apiKeyEnv))) {
      throw new SettingError(
        `${where}.apiKeyEnv`,
        shown(apiKeyEnv),
        providerKeys.length > 0
          ? `must name one of providerApiKeys: ${providerKeys.join(", ")}`
          : "names a provider key, but providerApiKeys is empty",
      );
    }
    if (apiBase !== undefined) {
      modelApiBase(`${where}.apiBase`, apiBase);
    }
    return {
      name,
      model: litellmModelString,
      ...(apiKeyEnv !== undefined ? { apiKeyEnv: apiKeyEnv as string } : {}),
      ...(apiBase !== undefined ? { apiBase: apiBase as string } : {}),
    };
  });
}

/**
 * A model's provider endpoint. It is written to config.yaml (a plain file, and plain stack config),
 * and LiteLLM returns it to every API client in the `x-litellm-model-api-base` header, stripping
 * only the query (proxy/common_request_processing.py:get_custom_headers). So: no `user:pass@`, no
 * query, no fragment (credentials belong in a provider key named by apiKeyEnv), nothing WHATWG URL
 * would silently strip (whitespace) and the YAML would keep. Link-local addresses (169.254.0.0/16,
 * fe80::/10) are refused: that is where cloud metadata services answer (169.254.169.254), and no
 * model server lives there; private LAN addresses stay allowed for self-hosted models.
 */
export function modelApiBase(key: string, value: unknown): string {
  const allowed = "must be an http:// or https:// URL without user:password@, query or fragment (put credentials in apiKeyEnv)";
  // Printable ASCII only (IDN hosts in their xn-- form): no whitespace or control characters.
  if (typeof value !== "string" || /[^!-~]/.test(value) || /[?#]/.test(value)) {
    throw new SettingError(key, shown(value), allowed);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingError(key, shown(value), allowed);
  }
  if (!["http:", "https:"].includes(url.protocol) || url.username || url.password || /@/.test(value)) {
    throw new SettingError(key, shown(value), allowed);
  }
  // WHATWG has already normalised IPv4 spellings (0xa9fea9fe, 2852039166) to dotted decimal.
  const host = url.hostname.toLowerCase();
  if (
    /^169\.254\./.test(host) ||
    /^\[fe[89ab][0-9a-f]:/.test(host) ||
    /^\[::ffff:a9fe:/.test(host) ||
    host === "metadata.google.internal"
  ) {
    throw new SettingError(key, shown(value), "is a link-local (cloud metadata) address, not a model server; " + allowed);
  }
  return value;
}

/**
 * LiteLLM's model string as `provider/model`. LiteLLM's Router refuses, at start-up, an entry whose
 * provider it cannot resolve (get_llm_provider_logic.py:get_llm_provider, "LLM Provider NOT
 * provided"); a bare name works only when it is in LiteLLM's cost map, which the gateway does not
 * carry, so the provider prefix is required. `openai/` with nothing after it passes LiteLLM's
 * start-up and fails on every request, so a model part is required too.
 */
export function litellmModel(key: string, value: unknown): string {
  const allowed = "must be LiteLLM's provider/model string, e.g. openai/gpt-4o or anthropic/claude-sonnet-4-5";
  if (typeof value === "string" && value.startsWith(ENV_REFERENCE)) {
    throw new SettingError(key, shown(value), "is an environment reference LiteLLM would resolve into the model string; " + allowed);
  }
  // Letters, digits and the punctuation real model strings use: bedrock/...-v1:0, bedrock ARNs,
  // vertex_ai/...@20240620, ollama/llama3.1:8b, huggingface/org/model, openrouter/.../...:free.
  if (typeof value !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/.test(value)) {
    throw new SettingError(key, shown(value), allowed);
  }
  const slash = value.indexOf("/");
  if (slash <= 0 || slash === value.length - 1) {
    throw new SettingError(key, shown(value), allowed);
  }
  const provider = value.slice(0, slash);
  if (!LITELLM_PROVIDERS.has(provider)) {
    throw new SettingError(key, shown(value), `names provider "${provider}", which LiteLLM 1.110.1 does not know; ${allowed}`);
  }
  return value;
}

/** A host name (or IPv4 address) users reach the gateway at, e.g. ai.example.com. */
export function hostName(key: string, value: unknown): string {
  if (typeof value === "string" && isHost(value)) {
    return value.toLowerCase();
  }
  throw new SettingError(key, shown(value), "must be a host name such as ai.example.com");
}

/** An IPv4 network in CIDR notation with no host bits set, e.g. 10.8.0.0/24 or 203.0.113.7/32. */
export function cidr(key: string, value: unknown): string {
  const allowed = "must be an IPv4 network in CIDR notation, e.g. 10.8.0.0/24 (one address: 203.0.113.7/32)";
  const match = typeof value === "string" ? /^([0-9.]+)\/([0-9]{1,2})$/.exec(value) : null;
  if (!match || !isIpv4(match[1]) || Number(match[2]) > 32) {
    throw new SettingError(key, shown(value), allowed);
  }
  const bits = Number(match[2]);
  const address = match[1].split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const hostBits = bits === 32 ? 0 : address % 2 ** (32 - bits);
  if (hostBits !== 0) {
    const network = address - hostBits;
    const dotted = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
    throw new SettingError(key, shown(value), `has host bits set; the network is ${dotted}/${bits}`);
  }
  return value as string;
}

export function cidrList(key: string, value: unknown): string[] {
  if (!Array.isArray(value)) {
    throw new SettingError(key, shown(value), "must be a list of IPv4 networks in CIDR notation, e.g. [10.8.0.0/24]");
  }
  return value.map((entry, index) => cidr(`${key}[${index}]`, entry));
}

/** A positive whole number, e.g. a rate; `unit` says what it counts. */
export function positiveInteger(key: string, value: unknown, unit: string, max: number): number {
  if (typeof value === "number" && Number.isInteger(value) && value > 0 && value <= max) {
    return value;
  }
  throw new SettingError(key, shown(value), `must be a positive whole number of ${unit}, at most ${max}`);
}

/** A whole number from `min` to `max`, e.g. a size; `unit` says what it counts. */
export function integerBetween(key: string, value: unknown, unit: string, min: number, max: number): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) {
    return value;
  }
  throw new SettingError(key, shown(value), `must be a whole number of ${unit} from ${min} to ${max}`);
}

/** How messages about a PEM setting name what belongs there (nginx's certificate, or the Docker engine's TLS). */
export interface PemNames {
  /** What the certificate setting holds, e.g. "a PEM certificate chain". */
  readonly noun: string;
  /** An example of it, e.g. "Let's Encrypt's fullchain.pem". */
  readonly example: string;
  /** The certificate, as named when a key was given instead. */
  readonly certificate: string;
  /** The setting the key goes in. */
  readonly keySetting: string;
  /** Who reads the key. */
  readonly reader: string;
  /** An example of the key. */
  readonly keyExample: string;
}

const NGINX_PEM: PemNames = {
  noun: "a PEM certificate chain",
  example: "Let's Encrypt's fullchain.pem",
  certificate: "the certificate chain (fullchain.pem)",
  keySetting: "tlsKey",
  reader: "nginx",
  keyExample: "Let's Encrypt's privkey.pem",
};

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * A PEM certificate chain, leaf first (Let's Encrypt's fullchain.pem). Every block must parse as
 * X.509 (Node's crypto.X509Certificate); the value is secret config and is never shown.
 */
export function pemCertificateChain(key: string, value: string, what: PemNames = NGINX_PEM): X509Certificate[] {
  const shownValue = shownSecret(value);
  if (/PRIVATE KEY-----/.test(value)) {
    throw new SettingError(key, shownValue, `holds a private key; give ${what.certificate} here and the key in ${what.keySetting}`);
  }
  const blocks = value.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new SettingError(key, shownValue, `must be ${what.noun} (BEGIN CERTIFICATE blocks), e.g. ${what.example}`);
  }
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new SettingError(key, shownValue, `certificate ${index + 1} of the chain does not parse as a PEM X.509 certificate`);
    }
  });
}

/** An unencrypted PEM private key (Let's Encrypt's privkey.pem); secret, never shown. */
export function pemPrivateKey(key: string, value: string, what: PemNames = NGINX_PEM): KeyObject {
  const shownValue = shownSecret(value);
  if (/ENCRYPTED/.test(value)) {
    throw new SettingError(key, shownValue, `is encrypted; ${what.reader} needs the unencrypted PEM key (e.g. ${what.keyExample})`);
  }
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(value)) {
    throw new SettingError(key, shownValue, `must be a PEM private key (a BEGIN PRIVATE KEY block), e.g. ${what.keyExample}`);
  }
  try {
    return createPrivateKey(value);
  } catch {
    throw new SettingError(key, shownValue, "does not parse as a PEM private key");
  }
}
