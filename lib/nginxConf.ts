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

export interface UpstreamAddress {
  readonly host: string;
  readonly port: number;
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
}

const DEFAULTS = {
  litellm: { host: HOSTNAMES.litellm, port: LITELLM_PORT },
  openWebui: { host: HOSTNAMES.openWebui, port: OPEN_WEBUI_PORT },
  resolver: DOCKER_DNS,
  publicListen: String(NGINX_PUBLIC_PORT),
  adminListen: String(NGINX_ADMIN_PORT),
  healthListen: `127.0.0.1:${NGINX_HEALTH_PORT}`,
  pidFile: "/var/run/nginx.pid",
  user: "nginx",
} as const;

/** Indents every non-empty line of a block by two spaces per level. */
function indent(lines: readonly string[], level = 1): string[] {
  const pad = "  ".repeat(level);
  return lines.map((line) => (line.length > 0 ? pad + line : line));
}

function block(head: string, body: readonly string[]): string[] {
  return [`${head} {`, ...indent(body), "}"];
}

/**
 * An upstream whose server is re-resolved through `resolver` at run time (`resolve`, nginx 1.27.3+),
 * so nginx starts before its upstreams exist and follows a replaced container to its new address,
 * while `keepalive` still reuses connections. `resolve` requires the upstream to live in a shared
 * memory zone.
 */
function upstream(name: string, address: UpstreamAddress): string[] {
  return block(`upstream ${name}`, [
    `zone upstream_${name} 64k;`,
    `server ${address.host}:${address.port} resolve;`,
    "keepalive 32;",
    "keepalive_timeout 60s;",
  ]);
}

const PROXY_TIMEOUTS = [
  "proxy_connect_timeout 10s;",
  `proxy_send_timeout ${NGINX_PROXY_TIMEOUT_SECONDS}s;`,
  `proxy_read_timeout ${NGINX_PROXY_TIMEOUT_SECONDS}s;`,
];

const FORWARDED_HEADERS = [
  "proxy_set_header Host $host;",
  "proxy_set_header X-Real-IP $remote_addr;",
  "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
  "proxy_set_header X-Forwarded-Proto $scheme;",
];

/** Open WebUI: plain requests reuse upstream connections; Socket.IO upgrades only when asked. */
const OPEN_WEBUI_PROXY = [
  "proxy_pass http://open_webui;",
  "proxy_http_version 1.1;",
  "proxy_set_header Upgrade $http_upgrade;",
  "proxy_set_header Connection $connection_upgrade;",
  ...FORWARDED_HEADERS,
  ...PROXY_TIMEOUTS,
  "proxy_buffering off;",
];

/** LiteLLM's API: streamed token by token, over kept-alive HTTP/1.1 connections. */
const LITELLM_STREAMING_PROXY = [
  "proxy_http_version 1.1;",
  'proxy_set_header Connection "";',
  ...FORWARDED_HEADERS,
  ...PROXY_TIMEOUTS,
  "proxy_buffering off;",
  "proxy_request_buffering off;",
  "proxy_cache off;",
  "gzip off;",
];

/** Renders nginx.conf: the gateway's only public door. */
export function renderNginxConf(input: NginxConfigInput): string {
  const litellm = input.litellm ?? DEFAULTS.litellm;
  const openWebui = input.openWebui ?? DEFAULTS.openWebui;
  const user = input.user === undefined ? DEFAULTS.user : input.user;
  const tempPaths = input.tempDir
    ? ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `${kind}_temp_path ${input.tempDir}/${kind};`)
    : [];

  const http = [
    "default_type application/octet-stream;",
    "server_tokens off;",
    "access_log /dev/stdout;",
    "sendfile on;",
    "tcp_nodelay on;",
    "keepalive_timeout 65s;",
    "client_max_body_size 100m;",
    ...tempPaths,
    `resolver ${input.resolver ?? DEFAULTS.resolver} valid=10s ipv6=off;`,
    "resolver_timeout 5s;",
    "",
    ...block("map $http_upgrade $connection_upgrade", ["default upgrade;", "'' '';"]),
    "",
    ...upstream("litellm", litellm),
    ...upstream("open_webui", openWebui),
    "",
    ...block("server", [
      `listen ${input.publicListen ?? DEFAULTS.publicListen};`,
      "server_name _;",
      ...block("location /api/litellm/v1/", ["proxy_pass http://litellm/v1/;", ...LITELLM_STREAMING_PROXY]),
      ...block("location /api/litellm/", ["return 403;"]),
      ...block("location /", OPEN_WEBUI_PROXY),
    ]),
    "",
    ...block("server", [
      `listen ${input.adminListen ?? DEFAULTS.adminListen};`,
      "server_name _;",
      ...block("location /", ["proxy_pass http://litellm;", ...LITELLM_STREAMING_PROXY]),
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
    `pid ${input.pidFile ?? DEFAULTS.pidFile};`,
    "error_log /dev/stderr warn;",
    "",
    ...block("events", [`worker_connections ${input.workerConnections};`]),
    "",
    ...block("http", http),
    "",
  ].join("\n");
}
