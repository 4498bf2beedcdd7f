import {
  DOCKER_DNS,
  HOSTNAMES,
  LITELLM_PORT,
  NGINX_ADMIN_PORT,
  NGINX_HEALTH_PORT,
  NGINX_PROXY_TIMEOUT_SECONDS,
  NGINX_PUBLIC_PORT,
  OPEN_WEBUI_PORT,
} from "./constants";

/** Port of the HTTPS listener inside the nginx container (published on the host's httpsPort). */
export const NGINX_HTTPS_PORT = 8443;
/** Where the nginx component uploads the TLS certificate chain and key (PEM) inside the container. */
export const NGINX_TLS_CERTIFICATE_FILE = "/etc/nginx/gateway-tls.crt";
export const NGINX_TLS_KEY_FILE = "/etc/nginx/gateway-tls.key";

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
   * Proxies (CIDR) in front of nginx whose X-Forwarded-For and X-Forwarded-Proto are believed.
   * Default none: the client is the TCP peer, and client-sent X-Forwarded-For is only logged.
   */
  readonly trustedProxies?: readonly string[];
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

function jsonReturn(status: number, body: string): string[] {
  if (body.includes("'") || body.includes("$")) {
    throw new Error(`error body for ${status} must not contain ' or $: ${body}`);
  }
  return ["default_type application/json;", `return ${status} '${body}';`];
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
 * X-Forwarded-For would otherwise reach LiteLLM (which can filter and log by it) unchecked. With
 * trustedProxies, $remote_addr is already the client that the trusted proxies reported.
 */
const FORWARDED_HEADERS = [
  "proxy_set_header Host $host;",
  "proxy_set_header X-Real-IP $remote_addr;",
  "proxy_set_header X-Forwarded-For $remote_addr;",
  "proxy_set_header X-Forwarded-Proto $forwarded_proto;",
  "proxy_set_header X-Forwarded-Host $host;",
];

/** Response streaming: every byte LiteLLM or Open WebUI writes goes to the client at once. */
const STREAMING = ["proxy_buffering off;", "proxy_request_buffering off;", "proxy_cache off;"];

/**
 * HTTP/1.1 over a kept-alive upstream connection. `Connection: upgrade` goes upstream only when the
 * client asked to upgrade ($connection_upgrade is empty otherwise, and an empty header is not
 * sent), so plain requests keep the connection reusable.
 */
const HTTP11_UPGRADABLE = [
  "proxy_http_version 1.1;",
  "proxy_set_header Upgrade $http_upgrade;",
  "proxy_set_header Connection $connection_upgrade;",
];

/** LiteLLM's API: no upgrades, never compressed (gzip would hold back text/event-stream). */
function litellmApiProxy(ctx: RenderContext): string[] {
  return [
    "proxy_http_version 1.1;",
    'proxy_set_header Connection "";',
    ...FORWARDED_HEADERS,
    ...proxyTimeouts(ctx.timeoutSeconds),
    ...STREAMING,
    "gzip off;",
  ];
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

/** Settings shared by the allowed API routes: limits, JSON errors for nginx's own failures, streaming proxying. */
function apiRoute(ctx: RenderContext, rewrite: string): string[] {
  return [
    ...(ctx.rateLimit
      ? [`limit_req zone=api_per_client burst=${ctx.rateLimit.burst} nodelay;`, "error_page 429 = @api_rate_limited;"]
      : []),
    "error_page 502 503 = @litellm_unavailable;",
    "error_page 504 = @litellm_timeout;",
    rewrite,
    "proxy_pass http://litellm;",
    ...litellmApiProxy(ctx),
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
      ...HTTP11_UPGRADABLE,
      ...FORWARDED_HEADERS,
      "proxy_connect_timeout 10s;",
      `proxy_send_timeout ${NGINX_WEBSOCKET_TIMEOUT_SECONDS}s;`,
      `proxy_read_timeout ${NGINX_WEBSOCKET_TIMEOUT_SECONDS}s;`,
      ...STREAMING,
    ]),
    ...block("location /", [
      "proxy_pass http://open_webui;",
      ...HTTP11_UPGRADABLE,
      ...FORWARDED_HEADERS,
      ...proxyTimeouts(ctx.timeoutSeconds),
      ...STREAMING,
    ]),
  ];
}

/** Renders nginx.conf: the gateway's only public door. Pure: the same input gives the same text. */
export function renderNginxConf(input: NginxConfigInput): string {
  const litellm = input.litellm ?? DEFAULTS.litellm;
  const openWebui = input.openWebui ?? DEFAULTS.openWebui;
  const user = input.user === undefined ? DEFAULTS.user : input.user;
  const trustedProxies = input.trustedProxies ?? [];
  const adminAllowedCidrs = input.adminAllowedCidrs ?? [];
  const rate = input.apiRateLimitPerMinute;
  if (rate !== undefined && !(Number.isInteger(rate) && rate > 0)) {
    throw new Error(`apiRateLimitPerMinute must be a positive whole number, got ${rate}`);
  }
  const ctx: RenderContext = {
    timeoutSeconds: input.proxyTimeoutSeconds ?? NGINX_PROXY_TIMEOUT_SECONDS,
    tls: input.tls !== undefined,
    rateLimit: rate !== undefined ? { burst: apiRateLimitBurst(rate), retryAfterSeconds: Math.max(1, Math.ceil(60 / rate)) } : undefined,
  };
  const tempPaths = input.tempDir
    ? ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `${kind}_temp_path ${input.tempDir}/${kind};`)
    : [];

  const realIp =
    trustedProxies.length > 0
      ? [
          // The client is the last address in X-Forwarded-For that is not a trusted proxy.
          ...trustedProxies.map((cidr) => `set_real_ip_from ${cidr};`),
          "real_ip_header X-Forwarded-For;",
          "real_ip_recursive on;",
          ...block("geo $realip_remote_addr $from_trusted_proxy", ["default 0;", ...trustedProxies.map((cidr) => `${cidr} 1;`)]),
          // A trusted proxy that terminated TLS says so in X-Forwarded-Proto.
          ...block('map "$from_trusted_proxy:$http_x_forwarded_proto" $forwarded_proto', [
            "default $scheme;",
            '"1:https" https;',
            '"1:http" http;',
          ]),
        ]
      : [...block("map $scheme $forwarded_proto", ["default $scheme;"])];

  const publicServer: string[] = input.tls
    ? block("server", [
        `listen ${input.publicListen ?? DEFAULTS.publicListen};`,
        "server_name _;",
        ...securityHeaders(false),
        // API clients keep their method and body through 308; browsers get the classic 301.
        ...block("location /api/", [`return 308 ${input.tls.redirectOrigin}$request_uri;`]),
        ...block("location /", [`return 301 ${input.tls.redirectOrigin}$request_uri;`]),
      ])
    : block("server", [
        `listen ${input.publicListen ?? DEFAULTS.publicListen};`,
        "server_name _;",
        ...securityHeaders(false),
        ...publicLocations(ctx),
      ]);

  const httpsServer: string[] = input.tls
    ? [
        "",
        ...block("server", [
          `listen ${input.tls.listen ?? DEFAULTS.httpsListen} ssl;`,
          "http2 on;",
          `server_name ${input.tls.serverName};`,
          `ssl_certificate ${input.tls.certificateFile ?? NGINX_TLS_CERTIFICATE_FILE};`,
          `ssl_certificate_key ${input.tls.keyFile ?? NGINX_TLS_KEY_FILE};`,
          "ssl_protocols TLSv1.2 TLSv1.3;",
          `ssl_ciphers ${TLS12_CIPHERS};`,
          "ssl_prefer_server_ciphers off;",
          "ssl_session_cache shared:gateway_tls:10m;",
          "ssl_session_timeout 1d;",
          "ssl_session_tickets off;",
          ...securityHeaders(true),
          ...publicLocations(ctx),
        ]),
      ]
    : [];

  const http = [
    "default_type application/octet-stream;",
    "server_tokens off;",
    // The request path without its query string: clients may put keys in query parameters.
    ...block("map $request_uri $request_path", ['"~^(?<path>[^?]*)" $path;']),
    // $remote_addr is the client (after trustedProxies); peer is the TCP peer; xff what the client sent.
    "log_format gateway '$remote_addr peer=$realip_remote_addr [$time_iso8601] \"$request_method $request_path $server_protocol\" '",
    '                   \'$status $body_bytes_sent rt=$request_time urt=$upstream_response_time xff="$http_x_forwarded_for" ua="$http_user_agent"\';',
    `access_log ${input.accessLog ?? DEFAULTS.accessLog} gateway;`,
    "sendfile on;",
    "tcp_nodelay on;",
    "keepalive_timeout 65s;",
    `client_max_body_size ${NGINX_MAX_BODY};`,
    "large_client_header_buffers 4 32k;",
    // Room for large response headers (session cookies); unbuffered proxying reads through this buffer.
    "proxy_buffer_size 16k;",
    "proxy_busy_buffers_size 16k;",
    ...tempPaths,
    `resolver ${input.resolver ?? DEFAULTS.resolver} valid=10s ipv6=off;`,
    "resolver_timeout 5s;",
    // Compress Open WebUI's static assets; text/event-stream is not listed, so streams are never held back.
    "gzip on;",
    "gzip_proxied any;",
    "gzip_vary on;",
    "gzip_min_length 1024;",
    "gzip_comp_level 5;",
    "gzip_types text/css text/plain application/javascript application/json image/svg+xml;",
    // nginx sets these itself; the upstreams' copies would be duplicates.
    "proxy_hide_header X-Frame-Options;",
    "proxy_hide_header X-Content-Type-Options;",
    "proxy_hide_header Referrer-Policy;",
    "proxy_hide_header Strict-Transport-Security;",
    ...realIp,
    ...(rate !== undefined
      ? [
          `limit_req_zone $binary_remote_addr zone=api_per_client:10m rate=${rate}r/m;`,
          "limit_req_status 429;",
          "limit_req_log_level warn;",
        ]
      : []),
    "",
    ...block("map $http_upgrade $connection_upgrade", ["default upgrade;", "'' '';"]),
    "",
    ...upstream("litellm", litellm),
    ...upstream("open_webui", openWebui),
    "",
    ...publicServer,
    ...httpsServer,
    "",
    // The admin listener: LiteLLM's admin UI and management API. Published on the host's loopback
    // (or adminBindAddress), and filtered by source address when adminAllowedCidrs is set.
    ...block("server", [
      `listen ${input.adminListen ?? DEFAULTS.adminListen};`,
      "server_name _;",
      ...adminAllowedCidrs.map((cidr) => `allow ${cidr};`),
      ...(adminAllowedCidrs.length > 0 ? ["deny all;"] : []),
      ...securityHeaders(false),
      ...block("location /", ["proxy_pass http://litellm;", ...litellmApiProxy(ctx)]),
    ]),
    "",
    ...block("server", [
      `listen ${input.healthListen ?? DEFAULTS.healthListen};`,
      ...block("location = /healthz", ["access_log off;", "default_type text/plain;", 'return 200 "ok\\n";']),
    ]),
  ];

  return [
    "# Generated by ai-gateway on every `pulumi up`.",
    ...(user ? [`user ${user};`] : []),
    `worker_processes ${input.workerProcesses};`,
    // Each proxied request holds two descriptors (client and upstream).
    `worker_rlimit_nofile ${input.workerConnections * 2 + 64};`,
    `pid ${input.pidFile ?? DEFAULTS.pidFile};`,
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
