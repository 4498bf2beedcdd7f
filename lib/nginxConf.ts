import {
  DOCKER_DNS,
  HOSTNAMES,
  LITELLM_PORT,
  NGINX_ADMIN_PORT,
  NGINX_CONFIG_DIR,
  NGINX_HEALTH_PORT,
  NGINX_PROXY_TIMEOUT_SECONDS,
  NGINX_PUBLIC_PORT,
  OPEN_WEBUI_PORT,
  UPSTREAM_DNS_TTL_SECONDS,
} from "./constants";
import { AcceptedHosts, LOOPBACK_HOST_NAMES } from "./hostNames";

/** Port of the HTTPS listener inside the nginx container (published on the host's httpsPort). */
export const NGINX_HTTPS_PORT = 8443;
/** Where the nginx component uploads the TLS certificate chain and key (PEM) inside the container. */
export const NGINX_TLS_CERTIFICATE_FILE = `${NGINX_CONFIG_DIR}/tls.crt`;
export const NGINX_TLS_KEY_FILE = `${NGINX_CONFIG_DIR}/tls.key`;

/**
 * Idle time after which nginx drops a kept-alive upstream connection. Below uvicorn's default
 * `--timeout-keep-alive` of 5 s (LiteLLM and Open WebUI both run uvicorn): the side that closes an
 * idle connection must be nginx, or a request can be written onto a connection the server is
 * closing at that moment and fail with 502.
 */
export const UPSTREAM_KEEPALIVE_TIMEOUT_SECONDS = 4;
/** Idle upstream connections each worker keeps per upstream (Open WebUI's nginx guide uses 128). */
export const UPSTREAM_KEEPALIVE_CONNECTIONS = 128;
/**
 * Read/send timeout of the Socket.IO websocket. Open WebUI pings every 25 s, so only a dead
 * connection ever reaches it; a day, as Open WebUI's nginx guide recommends.
 */
export const NGINX_WEBSOCKET_TIMEOUT_SECONDS = 86400;
/** Largest request body (uploads, audio, base64 images), as the original's 100M. */
export const NGINX_MAX_BODY = "100m";

/**
 * OpenAI- and Anthropic-compatible operations reachable under /api/litellm/v1/ on the public
 * listener (with any sub-path, e.g. /v1/models/<id>, /v1/files/<id>/content,
 * /v1/messages/count_tokens). Everything else under /api/litellm/ answers 403.
 */
export const PUBLIC_API_OPERATIONS = [
  "chat/completions",
  "completions",
  "embeddings",
  "models",
  "responses",
  "messages",
  "audio/speech",
  "audio/transcriptions",
  "audio/translations",
  "images/generations",
  "images/edits",
  "images/variations",
  "moderations",
  "files",
  "batches",
  "rerank",
] as const;

/**
 * Operations of the Azure-style path Continue.dev and Azure SDKs call,
 * /api/litellm/v1/openai/deployments/<name>/<operation>. They go to LiteLLM's Azure-compatible
 * routes /openai/deployments/<name>/<operation>, which take the model from the path.
 */
export const AZURE_DEPLOYMENT_OPERATIONS = ["chat/completions", "completions", "embeddings"] as const;

export interface UpstreamAddress {
  readonly host: string;
  readonly port: number;
}

export interface NginxTlsInput {
  /** server_name of the HTTPS listener: the host name the certificate is for. */
  readonly serverName: string;
  /** Origin plain HTTP is redirected to, e.g. https://ai.example.com (the gateway's publicUrl). */
  readonly redirectOrigin: string;
  /** PEM certificate chain and key inside the container. Default the files the component uploads. */
  readonly certificateFile?: string;
  readonly keyFile?: string;
  /** Listen address ("port" or "address:port") of the HTTPS server. Default 8443. */
  readonly listen?: string;
}

export interface NginxConfigInput {
  readonly workerProcesses: number;
  readonly workerConnections: number;
  /** LiteLLM's address on the private network. Default litellm:4000. */
  readonly litellm?: UpstreamAddress;
  /** Open WebUI's address on the private network. Default open-webui:8080. */
  readonly openWebui?: UpstreamAddress;
  /** DNS server nginx re-resolves upstream names with. Default Docker's embedded DNS, 127.0.0.11. */
  readonly resolver?: string;
  /** Listen addresses ("port" or "address:port") inside the container. Defaults 8080, 8081, 127.0.0.1:8079. */
  readonly publicListen?: string;
  readonly adminListen?: string;
  readonly healthListen?: string;
  /** Where nginx keeps its pid file. Default /var/run/nginx.pid (the image's). */
  readonly pidFile?: string;
  /** Directory for request/response temp files. Default: the image's compiled-in paths. */
  readonly tempDir?: string;
  /** Worker user. Default "nginx" (the official image's); null to leave unset (unprivileged test runs). */
  readonly user?: string | null;
  /** HTTPS on its own listener, plain HTTP redirected to it. Default none: plain HTTP only. */
  readonly tls?: NginxTlsInput;
  /** Requests per minute each client address may make to the public API. Default none (no limit). */
  readonly apiRateLimitPerMinute?: number;
  /** Source networks (CIDR) allowed on the admin listener. Default none: no address filter. */
  readonly adminAllowedCidrs?: readonly string[];
  /**
   * Proxies (CIDR) in front of nginx whose X-Forwarded-For and X-Forwarded-Proto are believed, on
   * the public listeners only: the admin listener always judges the TCP peer. Default none: the
   * client is the TCP peer, and client-sent X-Forwarded-For is only logged.
   */
  readonly trustedProxies?: readonly string[];
  /**
   * Host names the public listeners (plain and TLS) answer; any other Host or TLS server name gets
   * 421 (lib/hostNames.ts). Default the loopback names.
   */
  readonly publicHosts?: AcceptedHosts;
  /** Host names the admin listener answers; any other gets 421. Default the loopback names. */
  readonly adminHosts?: AcceptedHosts;
  /** proxy_read_timeout / proxy_send_timeout of the HTTP routes. Default NGINX_PROXY_TIMEOUT_SECONDS. */
  readonly proxyTimeoutSeconds?: number;
  /** Access log destination. Default /dev/stdout (Docker's log). */
  readonly accessLog?: string;
}

const DEFAULTS = {
  litellm: { host: HOSTNAMES.litellm, port: LITELLM_PORT },
  openWebui: { host: HOSTNAMES.openWebui, port: OPEN_WEBUI_PORT },
  resolver: DOCKER_DNS,
  publicListen: String(NGINX_PUBLIC_PORT),
  adminListen: String(NGINX_ADMIN_PORT),
  healthListen: `127.0.0.1:${NGINX_HEALTH_PORT}`,
  httpsListen: String(NGINX_HTTPS_PORT),
  pidFile: "/var/run/nginx.pid",
  user: "nginx",
  accessLog: "/dev/stdout",
} as const;

/** Mozilla's "intermediate" TLS 1.2 suites (ECDHE only: no DH parameters are shipped); TLS 1.3 uses OpenSSL's defaults. */
const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** HSTS for two years (Mozilla's recommendation), without includeSubDomains: other hosts of the domain are not ours. */
export const HSTS_HEADER_VALUE = "max-age=63072000";

/** Requests a client may make at once beyond the per-minute rate: ten seconds' worth, at least one. */
export function apiRateLimitBurst(perMinute: number): number {
  return Math.max(1, Math.ceil(perMinute / 6));
}

/** Indents every non-empty line of a block by two spaces per level. */
function indent(lines: readonly string[], level = 1): string[] {
  const pad = "  ".repeat(level);
  return lines.map((line) => (line.length > 0 ? pad + line : line));
}

function block(head: string, body: readonly string[]): string[] {
  return [`${head} {`, ...indent(body), "}"];
}

/** An OpenAI-format error body; nginx sends it verbatim (it holds no `$`, so nothing is interpolated). */
export function openAiError(message: string, type: string, code: string): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

/** `return <status> '<body>';`; nginx would interpolate a `$` and end the string at a `'`. */
function jsonBody(status: number, body: string): string {
  if (body.includes("'") || body.includes("$")) {
    throw new Error(`error body for ${status} must not contain ' or $: ${body}`);
  }
  return `return ${status} '${body}';`;
}

function jsonReturn(status: number, body: string): string[] {
  return ["default_type application/json;", jsonBody(status, body)];
}

/*
 * Grammars of the values the renderer writes into nginx.conf: a value outside them could end a
 * directive (`;`), open or close a block (`{ }`), or name a variable (`$`). The settings are
 * validated before they get here; this is the second line, so a validator's gap cannot become
 * nginx configuration.
 */
const HOST = "(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\\[[0-9a-f:.]+\\])";
const GRAMMARS = {
  origin: new RegExp(`^https?://${HOST}(?::[0-9]{1,5})?$`),
  host: new RegExp(`^${HOST}$`),
  cidr: /^[0-9]{1,3}(?:\.[0-9]{1,3}){3}\/[0-9]{1,2}$/,
  listen: /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}:)?[0-9]{1,5}$/,
  address: new RegExp(`^${HOST}(?::[0-9]{1,5})?$`),
  path: /^\/[A-Za-z0-9._/-]+$/,
} as const;

function guard(what: string, value: string, grammar: keyof typeof GRAMMARS): string {
  if (!GRAMMARS[grammar].test(value)) {
    throw new Error(`nginx.conf: ${what} ${JSON.stringify(value)} is not a valid ${grammar}`);
  }
  return value;
}

/**
 * Upstreams whose server is re-resolved through `resolver` while nginx runs (`resolve`), so nginx
 * starts before LiteLLM and Open WebUI exist and follows a replaced container to its new address,
 * while `keepalive` still reuses connections. `resolve` on a `server` line needs the upstream in a
 * shared memory `zone`, and arrived in open-source nginx in 1.27.3: the shipped image is
 * nginx:1.30.5-alpine and the tests run Debian sid's 1.30.6. Older nginx (bookworm's 1.22) only
 * re-resolves a variable in `proxy_pass`, which bypasses `upstream` blocks and so cannot keep
 * connections alive: every request would pay a new TCP connection, as the original configuration
 * did (bench/proxy.ts measures what that costs).
 *
 * nginx 1.29.7 made upstream keepalive the default (`keepalive 32 local`, HTTP/1.1, no Connection
 * header), but its idle timeout stays 60 s, longer than uvicorn's 5 s: the explicit values below
 * keep the behaviour the same on every nginx from 1.27.3 on and let nginx, not the server, close
 * idle connections.
 */
function upstream(name: string, address: UpstreamAddress): string[] {
  return block(`upstream ${name}`, [
    `zone upstream_${name} 64k;`,
    `server ${address.host}:${address.port} resolve;`,
    `keepalive ${UPSTREAM_KEEPALIVE_CONNECTIONS};`,
    "keepalive_requests 10000;",
    `keepalive_timeout ${UPSTREAM_KEEPALIVE_TIMEOUT_SECONDS}s;`,
  ]);
}

interface RenderContext {
  readonly timeoutSeconds: number;
  readonly tls: boolean;
  readonly rateLimit?: { readonly burst: number; readonly retryAfterSeconds: number };
}

/** Both apply between two reads / writes, so they cut a silent upstream, never a live stream. */
function proxyTimeouts(seconds: number): string[] {
  return ["proxy_connect_timeout 10s;", `proxy_send_timeout ${seconds}s;`, `proxy_read_timeout ${seconds}s;`];
}

/**
 * The client as the upstreams see it. X-Forwarded-For is replaced, not appended to: a client's own
 * X-Forwarded-For would otherwise reach LiteLLM (which can filter and log by it) unchecked. On the
 * public listeners, with trustedProxies, $remote_addr is already the client that the trusted
 * proxies reported and $forwarded_proto their scheme; the admin listener believes no proxy, so it
 * passes the TCP peer and its own scheme.
 */
function forwardedHeaders(proto: "$forwarded_proto" | "$scheme"): string[] {
  return [
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-For $remote_addr;",
    `proxy_set_header X-Forwarded-Proto ${proto};`,
    "proxy_set_header X-Forwarded-Host $host;",
  ];
}

/** Response streaming: every byte LiteLLM or Open WebUI writes goes to the client at once. */
const STREAMING = ["proxy_buffering off;", "proxy_request_buffering off;", "proxy_cache off;"];

/**
 * HTTP/1.1 over a kept-alive upstream connection, never upgraded: nginx drops the client's Upgrade
 * itself (hop-by-hop), and HTTP2-Settings, which only means something with `Upgrade: h2c`, is
 * dropped too, so no h2c upgrade can be smuggled to an upstream.
 */
const HTTP11_NO_UPGRADE = ["proxy_http_version 1.1;", 'proxy_set_header Connection "";', 'proxy_set_header HTTP2-Settings "";'];

/**
 * The websocket route: Upgrade and `Connection: upgrade` go upstream only for `Upgrade: websocket`
 * (maps $websocket_upgrade and $connection_upgrade); any other token, e.g. h2c, is a plain request.
 */
const WEBSOCKET_UPGRADE = [
  "proxy_http_version 1.1;",
  "proxy_set_header Upgrade $websocket_upgrade;",
  "proxy_set_header Connection $connection_upgrade;",
  'proxy_set_header HTTP2-Settings "";',
];

/** nginx sets these itself on every response; the upstreams' copies would be duplicates. */
const HEADERS_NGINX_SETS = ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Strict-Transport-Security"];

/**
 * Response headers of LiteLLM 1.110.1 that describe the deployment rather than the client's own
 * request, hidden from public API clients (the admin listener keeps them). From
 * proxy/common_request_processing.py `get_custom_headers` and `cost_headers`,
 * proxy/common_utils/callback_utils.py, litellm_core_utils/add_retry_fallback_headers.py and the
 * rate limiter hooks:
 *  - where and what the backend is: api base (may carry credentials, F7), LiteLLM's version (tells
 *    which advisories apply), deployment id and name, region, the adaptive/quality router's pick;
 *  - how it is configured: cache key, timeout, guardrails and policies applied, the rate limiter's
 *    saturation and version, fallback errors (provider error text);
 *  - the operator's pricing: the cost before discount and margin, the discount and the margin;
 *  - timings of LiteLLM's internal steps (callbacks, overhead, detailed timing).
 * Kept, because clients use them: x-litellm-call-id (support), x-litellm-response-cost and its
 * input/output split (the client's own cost), x-litellm-key-spend / -max-budget / -rpm-limit /
 * -tpm-limit / -remaining-* (the client's own key), x-litellm-response-duration-ms, and the
 * OpenAI-compatible x-ratelimit-* that SDKs back off by.
 * LiteLLM also forwards every provider response header as `llm_provider-<name>`; nginx cannot hide
 * by prefix, so the ones naming the operator's provider account or its infrastructure are listed.
 */
export const HIDDEN_UPSTREAM_HEADERS = [
  "x-litellm-model-api-base",
  "x-litellm-version",
  "x-litellm-model-id",
  "x-litellm-model-name",
  "x-litellm-model-region",
  "x-litellm-adaptive-router-model",
  "x-litellm-quality-router-model",
  "x-litellm-quality-router-tier",
  "x-litellm-quality-router-via",
  "x-litellm-quality-router-keyword",
  "x-litellm-quality-router-complexity",
  "x-litellm-upstream-model",
  "x-litellm-cache-key",
  "x-litellm-timeout",
  "x-litellm-applied-guardrails",
  "x-litellm-guardrail-scan-id",
  "x-litellm-guardrail-scan-metadata",
  "x-litellm-applied-policies",
  "x-litellm-policy-sources",
  "x-litellm-semantic-similarity",
  "x-litellm-semantic-filter-tools",
  "x-litellm-saturation",
  "x-litellm-rate-limiter-version",
  "x-litellm-fallback-errors",
  "x-litellm-attempted-fallbacks",
  "x-litellm-response-cost-original",
  "x-litellm-response-cost-discount-amount",
  "x-litellm-response-cost-margin-amount",
  "x-litellm-response-cost-margin-percent",
  "x-litellm-callback-duration-ms",
  "x-litellm-overhead-duration-ms",
  "x-litellm-timing-pre-processing-ms",
  "x-litellm-timing-llm-api-ms",
  "x-litellm-timing-post-processing-ms",
  "x-litellm-timing-message-copy-ms",
  "llm_provider-openai-organization",
  "llm_provider-openai-project",
  "llm_provider-anthropic-organization-id",
  "llm_provider-set-cookie",
  "llm_provider-server",
  "llm_provider-via",
  "llm_provider-x-ms-region",
  "llm_provider-x-ms-deployment-name",
  "llm_provider-azureml-model-deployment",
  "llm_provider-apim-request-id",
  "llm_provider-x-litellm-model-api-base",
  "llm_provider-x-litellm-version",
] as const;

/**
 * Query parameters that carry a key (compared case-insensitively). LiteLLM 1.110.1 itself reads
 * `key` (Google's generateContent routes, proxy/auth/user_api_key_auth.py get_api_key); the others
 * are what OpenAI-, Azure- and Anthropic-style clients and hand-written URLs put a key in. nginx's
 * error log writes the full request line, query included, for upstream failures and limit_req
 * rejections, and cannot be told not to: so a request carrying one is refused before anything
 * else happens to it (rewrite phase: before the rate limit, before proxying).
 */
export const CREDENTIAL_QUERY_PARAMETERS = [
  "key",
  "api_key",
  "api-key",
  "apikey",
  "x-api-key",
  "x-goog-api-key",
  "access_token",
  "token",
  "authorization",
] as const;

/** A parameter name as it may appear in a raw query: each character literal or percent-encoded (LiteLLM decodes names). */
function encodedName(name: string): string {
  return [...name]
    .map((c) => {
      const hex = c.charCodeAt(0).toString(16);
      return /[a-z0-9]/.test(c) ? `(?:${c}|%${hex})` : `(?:\\${c}|%${hex})`;
    })
    .join("");
}

const CREDENTIAL_QUERY_PATTERN = `(?:^|&)(?:${CREDENTIAL_QUERY_PARAMETERS.map(encodedName).join("|")})(?:=|&|$)`;

/** LiteLLM's API: no upgrades, never compressed (gzip would hold back text/event-stream). */
function litellmApiProxy(ctx: RenderContext, proto: "$forwarded_proto" | "$scheme"): string[] {
  return [...HTTP11_NO_UPGRADE, ...forwardedHeaders(proto), ...proxyTimeouts(ctx.timeoutSeconds), ...STREAMING, "gzip off;"];
}

function securityHeaders(tls: boolean): string[] {
  return [
    'add_header X-Content-Type-Options "nosniff" always;',
    'add_header X-Frame-Options "SAMEORIGIN" always;',
    `add_header Content-Security-Policy "frame-ancestors 'self'" always;`,
    'add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
    ...(tls ? [`add_header Strict-Transport-Security "${HSTS_HEADER_VALUE}" always;`] : []),
  ];
}

const OPERATIONS_PATTERN = PUBLIC_API_OPERATIONS.join("|");
const AZURE_PATTERN = AZURE_DEPLOYMENT_OPERATIONS.join("|");

const DENIED_BODY = openAiError(
  "This path is not part of the public API of the gateway. Use /api/litellm/v1/ with one of: " +
    `${PUBLIC_API_OPERATIONS.join(", ")}; or /api/litellm/v1/openai/deployments/NAME/(${AZURE_DEPLOYMENT_OPERATIONS.join("|")}). ` +
    "The administration of LiteLLM is only on the admin listener.",
  "permission_error",
  "path_not_allowed",
);

const CREDENTIAL_IN_QUERY_BODY = openAiError(
  `A key was sent in the URL query (${CREDENTIAL_QUERY_PARAMETERS.join(", ")}), where logs and proxies keep it. ` +
    "Send it in the Authorization header (Bearer), or api-key / x-api-key. The request was not forwarded.",
  "invalid_request_error",
  "credential_in_query",
);

const MISDIRECTED_BODY = openAiError(
  "This gateway does not serve the host name the request was sent to (Host header or TLS server name). " +
    "Use the address its operator published (the domain or publicUrl setting).",
  "invalid_request_error",
  "misdirected_request",
);

/** Settings shared by the allowed API routes: key-in-query refusal, limits, JSON errors, hidden internals, streaming proxying. */
function apiRoute(ctx: RenderContext, rewrite: string): string[] {
  return [
    "default_type application/json;",
    ...block("if ($query_credential)", [jsonBody(400, CREDENTIAL_IN_QUERY_BODY)]),
    ...(ctx.rateLimit
      ? [`limit_req zone=api_per_client burst=${ctx.rateLimit.burst} nodelay;`, "error_page 429 = @api_rate_limited;"]
      : []),
    "error_page 502 503 = @litellm_unavailable;",
    "error_page 504 = @litellm_timeout;",
    rewrite,
    "proxy_pass http://litellm;",
    ...litellmApiProxy(ctx, "$forwarded_proto"),
    // proxy_hide_header here replaces the http level's list, so that list is repeated.
    ...[...HEADERS_NGINX_SETS, ...HIDDEN_UPSTREAM_HEADERS].map((name) => `proxy_hide_header ${name};`),
  ];
}

/** What the public listener (plain HTTP, or HTTPS when TLS is on) serves. */
function publicLocations(ctx: RenderContext): string[] {
  const named = [
    ...block("location @litellm_unavailable", [
      ...jsonReturn(
        502,
        openAiError("The LiteLLM upstream of the gateway is unavailable; try again shortly.", "api_error", "upstream_unavailable"),
      ),
    ]),
    ...block("location @litellm_timeout", [
      ...jsonReturn(
        504,
        openAiError(`LiteLLM sent nothing for ${ctx.timeoutSeconds} s, the limit of the gateway.`, "api_error", "upstream_timeout"),
      ),
    ]),
  ];
  if (ctx.rateLimit) {
    named.push(
      ...block("location @api_rate_limited", [
        // add_header here replaces the server's, so the security headers are repeated.
        ...securityHeaders(ctx.tls),
        `add_header Retry-After ${ctx.rateLimit.retryAfterSeconds} always;`,
        ...jsonReturn(
          429,
          openAiError("Too many requests from this address to the gateway API; slow down and retry.", "rate_limit_error", "rate_limited"),
        ),
      ]),
    );
  }
  return [
    // Everything under /api/litellm/ that no allow-list entry below matches: management endpoints
    // (keys, teams, users, spend, config, model changes), the admin UI, /health, /metrics, ...
    ...block("location /api/litellm/", jsonReturn(403, DENIED_BODY)),
    // nginx matches regex locations on the normalized path (percent-decoded, `..` resolved).
    ...block(
      `location ~ ^/api/litellm/v1/openai/deployments/.+/(?:${AZURE_PATTERN})$`,
      apiRoute(ctx, "rewrite ^/api/litellm/v1(/openai/deployments/.*)$ $1 break;"),
    ),
    ...block(`location ~ ^/api/litellm/v1/(?:${OPERATIONS_PATTERN})(?:/|$)`, apiRoute(ctx, "rewrite ^/api/litellm(/v1/.*)$ $1 break;")),
    ...named,
    // Open WebUI's Socket.IO (websocket, or long-polling on the same path).
    ...block("location /ws/socket.io", [
      "proxy_pass http://open_webui;",
      ...WEBSOCKET_UPGRADE,
      ...forwardedHeaders("$forwarded_proto"),
      "proxy_connect_timeout 10s;",
      `proxy_send_timeout ${NGINX_WEBSOCKET_TIMEOUT_SECONDS}s;`,
      `proxy_read_timeout ${NGINX_WEBSOCKET_TIMEOUT_SECONDS}s;`,
      ...STREAMING,
    ]),
    ...block("location /", [
      "proxy_pass http://open_webui;",
      ...HTTP11_NO_UPGRADE,
      ...forwardedHeaders("$forwarded_proto"),
      ...proxyTimeouts(ctx.timeoutSeconds),
      ...STREAMING,
    ]),
  ];
}

/**
 * Path prefixes that carry credentials on the public listener: LiteLLM's API and Open WebUI's
 * (/api/...), Open WebUI's OpenAI and Ollama proxies (/openai/, /ollama/: main.py 0.11.4) and its
 * Socket.IO (/ws/). In TLS mode the plain listener refuses them instead of redirecting.
 */
export const CREDENTIAL_PATH_PREFIXES = ["api", "openai", "ollama", "ws"] as const;

/**
 * 403 rather than a redirect: the key has already crossed the network in cleartext, and SDKs
 * follow 307/308 silently, so a client set to http:// would leak on every call without noticing.
 * 403 rather than 421: OpenAI-compatible SDKs raise 403 as a permission error showing this
 * message, while 421 means "retry on another connection", which would just send the key again.
 */
function httpsRequiredBody(origin: string): string {
  return openAiError(
    `This gateway serves its API over HTTPS only: use ${origin}. The request was not forwarded, ` +
      "but a key sent with it crossed the network unencrypted; replace that key if the network is not trusted.",
    "permission_error",
    "https_required",
  );
}

/** server_name entries for `hosts`: the names, and a regular expression for any IPv4 literal but 0.0.0.0. */
function serverNames(hosts: AcceptedHosts): string {
  const names = hosts.names.map((name) => guard("host name", name.toLowerCase(), "host"));
  return [...names, ...(hosts.anyIpv4 ? ['"~^(?!0\\.0\\.0\\.0$)[0-9]{1,3}(?:\\.[0-9]{1,3}){3}$"'] : [])].join(" ");
}

/**
 * The server a listen address falls back to when no server_name matches the Host (or, for TLS, the
 * server name): 421 Misdirected Request, the status HTTP defines for "not served here" (an HTTP/2
 * client that coalesced a connection retries on a new one). For TLS it also refuses the handshake
 * of an unknown server name (nginx >= 1.19.4), so such a client never sees the certificate.
 */
function defaultServer(listen: string, tls: boolean): string[] {
  return block("server", [
    `listen ${listen}${tls ? " ssl" : ""} default_server;`,
    ...(tls ? ["ssl_reject_handshake on;", "ssl_protocols TLSv1.2 TLSv1.3;", `ssl_ciphers ${TLS12_CIPHERS};`] : []),
    ...securityHeaders(false),
    ...jsonReturn(421, MISDIRECTED_BODY),
  ]);
}

/** Renders nginx.conf: the gateway's only public door. Pure: the same input gives the same text. */
export function renderNginxConf(input: NginxConfigInput): string {
  const litellm = input.litellm ?? DEFAULTS.litellm;
  const openWebui = input.openWebui ?? DEFAULTS.openWebui;
  const user = input.user === undefined ? DEFAULTS.user : input.user;
  const trustedProxies = (input.trustedProxies ?? []).map((cidr) => guard("trusted proxy", cidr, "cidr"));
  const adminAllowedCidrs = (input.adminAllowedCidrs ?? []).map((cidr) => guard("admin network", cidr, "cidr"));
  const publicHosts = input.publicHosts ?? { names: LOOPBACK_HOST_NAMES };
  const adminHosts = input.adminHosts ?? { names: LOOPBACK_HOST_NAMES };
  const rate = input.apiRateLimitPerMinute;
  if (rate !== undefined && !(Number.isInteger(rate) && rate > 0)) {
    throw new Error(`apiRateLimitPerMinute must be a positive whole number, got ${rate}`);
  }
  const ctx: RenderContext = {
    timeoutSeconds: input.proxyTimeoutSeconds ?? NGINX_PROXY_TIMEOUT_SECONDS,
    tls: input.tls !== undefined,
    rateLimit: rate !== undefined ? { burst: apiRateLimitBurst(rate), retryAfterSeconds: Math.max(1, Math.ceil(60 / rate)) } : undefined,
  };
  for (const [name, address] of [
    ["LiteLLM", litellm],
    ["Open WebUI", openWebui],
  ] as const) {
    guard(`${name} upstream`, `${address.host}:${address.port}`, "address");
  }
  const publicListen = guard("public listen", input.publicListen ?? DEFAULTS.publicListen, "listen");
  const adminListen = guard("admin listen", input.adminListen ?? DEFAULTS.adminListen, "listen");
  const httpsListen = guard("HTTPS listen", input.tls?.listen ?? DEFAULTS.httpsListen, "listen");
  const tempDir = input.tempDir !== undefined ? guard("temp directory", input.tempDir, "path") : undefined;
  const tempPaths = tempDir
    ? ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `${kind}_temp_path ${tempDir}/${kind};`)
    : [];
  const publicNames = serverNames(publicHosts);

  // The client is the last address in X-Forwarded-For that is not a trusted proxy. Only in the
  // public servers: in the admin server a trusted host could otherwise pick the address that
  // adminAllowedCidrs judges (F2).
  const realIp =
    trustedProxies.length > 0
      ? [...trustedProxies.map((cidr) => `set_real_ip_from ${cidr};`), "real_ip_header X-Forwarded-For;", "real_ip_recursive on;"]
      : [];
  const forwardedProto =
    trustedProxies.length > 0
      ? [
          ...block("geo $realip_remote_addr $from_trusted_proxy", ["default 0;", ...trustedProxies.map((cidr) => `${cidr} 1;`)]),
          // A trusted proxy that terminated TLS says so in X-Forwarded-Proto.
          ...block('map "$from_trusted_proxy:$http_x_forwarded_proto" $forwarded_proto', [
            "default $scheme;",
            '"1:https" https;',
            '"1:http" http;',
          ]),
        ]
      : [...block("map $scheme $forwarded_proto", ["default $scheme;"])];

  let publicServer: string[];
  let httpsServer: string[] = [];
  if (input.tls) {
    const origin = guard("redirect origin", input.tls.redirectOrigin, "origin");
    const serverName = guard("TLS server name", input.tls.serverName.toLowerCase(), "host");
    const certificate = guard("certificate file", input.tls.certificateFile ?? NGINX_TLS_CERTIFICATE_FILE, "path");
    const key = guard("key file", input.tls.keyFile ?? NGINX_TLS_KEY_FILE, "path");
    publicServer = [
      ...defaultServer(publicListen, false),
      ...block("server", [
        `listen ${publicListen};`,
        `server_name ${publicNames};`,
        ...securityHeaders(false),
        ...realIp,
        // API clients get an error they cannot miss; browsers the classic 301.
        // Case-insensitive, so no spelling of the prefix gets the redirect; nginx matches the
        // normalized path, so percent-encoded spellings are covered too.
        ...block(`location ~* ^/(?:${CREDENTIAL_PATH_PREFIXES.join("|")})/`, jsonReturn(403, httpsRequiredBody(origin))),
        ...block("location /", [`return 301 ${origin}$request_uri;`]),
      ]),
    ];
    httpsServer = [
      "",
      ...defaultServer(httpsListen, true),
      ...block("server", [
        `listen ${httpsListen} ssl;`,
        "http2 on;",
        `server_name ${publicHosts.names.includes(serverName) ? publicNames : `${serverName} ${publicNames}`};`,
        `ssl_certificate ${certificate};`,
        `ssl_certificate_key ${key};`,
        "ssl_protocols TLSv1.2 TLSv1.3;",
        `ssl_ciphers ${TLS12_CIPHERS};`,
        "ssl_prefer_server_ciphers off;",
        "ssl_session_cache shared:gateway_tls:10m;",
        "ssl_session_timeout 1d;",
        "ssl_session_tickets off;",
        ...securityHeaders(true),
        ...realIp,
        ...publicLocations(ctx),
      ]),
    ];
  } else {
    publicServer = [
      ...defaultServer(publicListen, false),
      ...block("server", [
        `listen ${publicListen};`,
        `server_name ${publicNames};`,
        ...securityHeaders(false),
        ...realIp,
        ...publicLocations(ctx),
      ]),
    ];
  }

  const http = [
    "default_type application/octet-stream;",
    "server_tokens off;",
    // The request path without its query string: clients may put keys in query parameters.
    ...block("map $request_uri $request_path", ['"~^(?<path>[^?]*)" $path;']),
    // $remote_addr is the client (after trustedProxies); peer is the TCP peer; xff what the client sent.
    "log_format gateway '$remote_addr peer=$realip_remote_addr [$time_iso8601] \"$request_method $request_path $server_protocol\" '",
    '                   \'$status $body_bytes_sent rt=$request_time urt=$upstream_response_time xff="$http_x_forwarded_for" ua="$http_user_agent"\';',
    `access_log ${guard("access log", input.accessLog ?? DEFAULTS.accessLog, "path")} gateway;`,
    "sendfile on;",
    "tcp_nodelay on;",
    "keepalive_timeout 65s;",
    `client_max_body_size ${NGINX_MAX_BODY};`,
    "large_client_header_buffers 4 32k;",
    // Room for large response headers (session cookies); unbuffered proxying reads through this buffer.
    "proxy_buffer_size 16k;",
    "proxy_busy_buffers_size 16k;",
    ...tempPaths,
    `resolver ${guard("resolver", input.resolver ?? DEFAULTS.resolver, "address")} valid=${UPSTREAM_DNS_TTL_SECONDS}s ipv6=off;`,
    "resolver_timeout 5s;",
    // Compress Open WebUI's static assets; text/event-stream is not listed, so streams are never held back.
    "gzip on;",
    "gzip_proxied any;",
    "gzip_vary on;",
    "gzip_min_length 1024;",
    "gzip_comp_level 5;",
    "gzip_types text/css text/plain application/javascript application/json image/svg+xml;",
    ...HEADERS_NGINX_SETS.map((name) => `proxy_hide_header ${name};`),
    ...forwardedProto,
    ...(rate !== undefined
      ? [
          `limit_req_zone $binary_remote_addr zone=api_per_client:10m rate=${rate}r/m;`,
          "limit_req_status 429;",
          "limit_req_log_level warn;",
        ]
      : []),
    "",
    ...block("map $args $query_credential", ["default 0;", `"~*${CREDENTIAL_QUERY_PATTERN}" 1;`]),
    "",
    ...block("map $http_upgrade $websocket_upgrade", ['default "";', '"~*^websocket$" websocket;']),
    ...block("map $websocket_upgrade $connection_upgrade", ['default "";', "websocket upgrade;"]),
    "",
    ...upstream("litellm", litellm),
    ...upstream("open_webui", openWebui),
    "",
    ...publicServer,
    ...httpsServer,
    "",
    // The admin listener: LiteLLM's admin UI and management API. Published on the host's loopback
    // (or adminBindAddress), and filtered by the TCP peer's address when adminAllowedCidrs is set:
    // no realip here, so X-Forwarded-For never decides who passes.
    ...defaultServer(adminListen, false),
    ...block("server", [
      `listen ${adminListen};`,
      `server_name ${serverNames(adminHosts)};`,
      ...adminAllowedCidrs.map((cidr) => `allow ${cidr};`),
      ...(adminAllowedCidrs.length > 0 ? ["deny all;"] : []),
      ...securityHeaders(false),
      ...block("location /", ["proxy_pass http://litellm;", ...litellmApiProxy(ctx, "$scheme")]),
    ]),
    "",
    ...block("server", [
      `listen ${guard("health listen", input.healthListen ?? DEFAULTS.healthListen, "listen")};`,
      ...block("location = /healthz", ["access_log off;", "default_type text/plain;", 'return 200 "ok\\n";']),
    ]),
  ];

  return [
    "# Generated by ai-gateway on every `pulumi up`.",
    ...(user ? [`user ${guard("user", user, "host")};`] : []),
    `worker_processes ${input.workerProcesses};`,
    // Each proxied request holds two descriptors (client and upstream).
    `worker_rlimit_nofile ${input.workerConnections * 2 + 64};`,
    `pid ${guard("pid file", input.pidFile ?? DEFAULTS.pidFile, "path")};`,
    "error_log stderr warn;",
    // The API allow-list, its rewrites and the log's path map are regular expressions run per request.
    "pcre_jit on;",
    "",
    ...block("events", [`worker_connections ${input.workerConnections};`]),
    "",
    ...block("http", http),
    "",
  ].join("\n");
}
