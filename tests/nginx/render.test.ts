/**
 * The renderer on its own (no nginx needed): a pure function of its typed input, with the design
 * choices that the runtime suites then exercise on the real nginx.
 */
import { NGINX_PROXY_TIMEOUT_SECONDS } from "../../lib/constants";
import {
  apiRateLimitBurst,
  NginxConfigInput,
  PUBLIC_API_OPERATIONS,
  renderNginxConf,
  UPSTREAM_KEEPALIVE_TIMEOUT_SECONDS,
} from "../../lib/nginxConf";

const BASE: NginxConfigInput = { workerProcesses: 2, workerConnections: 2048 };

/** The body of the first block whose header line matches. */
function blockOf(conf: string, header: RegExp): string {
  const lines = conf.split("\n");
  const start = lines.findIndex((l) => header.test(l));
  if (start < 0) {
    throw new Error(`no block ${header}`);
  }
  let depth = 0;
  const body: string[] = [];
  for (const line of lines.slice(start)) {
    depth += (line.match(/\{/g) ?? []).length - (line.match(/\}/g) ?? []).length;
    body.push(line);
    if (depth === 0) {
      break;
    }
  }
  return body.join("\n");
}

test("pure: the same input renders the same text", () => {
  const input: NginxConfigInput = {
    ...BASE,
    apiRateLimitPerMinute: 60,
    trustedProxies: ["10.0.0.0/8"],
    adminAllowedCidrs: ["10.8.0.0/24"],
  };
  expect(renderNginxConf(input)).toBe(renderNginxConf({ ...input }));
});

test("upstreams are re-resolved at run time and keep connections alive, closing idle ones before uvicorn does", () => {
  const conf = renderNginxConf(BASE);
  for (const [name, server] of [
    ["litellm", "litellm:4000"],
    ["open_webui", "open-webui:8080"],
  ]) {
    const upstream = blockOf(conf, new RegExp(`^\\s*upstream ${name} \\{`));
    expect(upstream).toContain(`zone upstream_${name} 64k;`);
    expect(upstream).toContain(`server ${server} resolve;`);
    expect(upstream).toMatch(/keepalive \d+;/);
    expect(upstream).toContain(`keepalive_timeout ${UPSTREAM_KEEPALIVE_TIMEOUT_SECONDS}s;`);
  }
  expect(UPSTREAM_KEEPALIVE_TIMEOUT_SECONDS).toBeLessThan(5);
  expect(conf).toContain("resolver 127.0.0.11 valid=10s ipv6=off;");
  // No proxy_pass to a bare host name (resolved once at start), only to the upstream groups.
  expect(conf.match(/proxy_pass http:\/\/[^;]+;/g)!.every((p) => /http:\/\/(litellm|open_webui);/.test(p))).toBe(true);
});

test("Connection: upgrade is never forced; only a websocket Upgrade on /ws/socket.io is passed on", () => {
  const conf = renderNginxConf(BASE);
  expect(conf).not.toMatch(/Connection "?upgrade"?;/i);
  expect(conf.match(/proxy_set_header Upgrade /g)).toHaveLength(1);
  expect(blockOf(conf, /location \/ws\/socket\.io \{/)).toContain("proxy_set_header Upgrade $websocket_upgrade;");
});

test("API routes stream: HTTP/1.1, no buffering either way, no cache, no gzip, the configured timeouts", () => {
  const conf = renderNginxConf(BASE);
  const api = blockOf(conf, /location ~ \^\/api\/litellm\/v1\/\(\?:chat/);
  for (const directive of [
    "proxy_http_version 1.1;",
    'proxy_set_header Connection "";',
    "proxy_buffering off;",
    "proxy_request_buffering off;",
    "proxy_cache off;",
    "gzip off;",
    `proxy_read_timeout ${NGINX_PROXY_TIMEOUT_SECONDS}s;`,
    `proxy_send_timeout ${NGINX_PROXY_TIMEOUT_SECONDS}s;`,
  ]) {
    expect(api).toContain(directive);
  }
  expect(blockOf(renderNginxConf({ ...BASE, proxyTimeoutSeconds: 2 }), /location ~ \^\/api\/litellm\/v1\/\(\?:chat/)).toContain(
    "proxy_read_timeout 2s;",
  );
});

test("the allow-list names every OpenAI- and Anthropic-compatible operation the issue lists", () => {
  for (const op of [
    "chat/completions",
    "completions",
    "embeddings",
    "models",
    "responses",
    "messages",
    "moderations",
    "files",
    "batches",
    "rerank",
  ]) {
    expect(PUBLIC_API_OPERATIONS).toContain(op);
  }
  expect(PUBLIC_API_OPERATIONS.some((op) => op.startsWith("audio/"))).toBe(true);
  expect(PUBLIC_API_OPERATIONS.some((op) => op.startsWith("images/"))).toBe(true);
  const conf = renderNginxConf(BASE);
  expect(conf).toContain(`location ~ ^/api/litellm/v1/(?:${PUBLIC_API_OPERATIONS.join("|")})(?:/|$) {`);
});

test("everything else under /api/litellm/ is a 403 JSON error; management stays on the admin listener", () => {
  const conf = renderNginxConf(BASE);
  const denied = blockOf(conf, /location \/api\/litellm\/ \{/);
  expect(denied).toContain("default_type application/json;");
  const body = /return 403 '(.*)';/.exec(denied)![1];
  expect(JSON.parse(body).error).toMatchObject({ type: "permission_error", code: "path_not_allowed", param: null });
  const publicServer = blockOf(conf, /^\s*server \{/);
  expect(publicServer).not.toMatch(/location \/ \{\s+proxy_pass http:\/\/litellm;/);
});

test("the health listener stays on 127.0.0.1:8079 at /healthz (Docker's healthcheck uses it)", () => {
  const conf = renderNginxConf(BASE);
  expect(conf).toMatch(/listen 127\.0\.0\.1:8079;\n\s+location = \/healthz \{/);
});

test("rate limit: off unless configured; a sixth of the per-minute rate may come at once", () => {
  expect(renderNginxConf(BASE)).not.toContain("limit_req");
  expect(apiRateLimitBurst(60)).toBe(10);
  expect(apiRateLimitBurst(5)).toBe(1);
  const conf = renderNginxConf({ ...BASE, apiRateLimitPerMinute: 600 });
  expect(conf).toContain("limit_req_zone $binary_remote_addr zone=api_per_client:10m rate=600r/m;");
  expect(conf.match(/limit_req zone=api_per_client burst=100 nodelay;/g)).toHaveLength(2);
  expect(() => renderNginxConf({ ...BASE, apiRateLimitPerMinute: 0 })).toThrow(/positive/);
});

test("without trusted proxies, X-Forwarded-For from clients is not believed, only logged", () => {
  const conf = renderNginxConf(BASE);
  expect(conf).not.toContain("set_real_ip_from");
  expect(conf).toContain("proxy_set_header X-Forwarded-For $remote_addr;");
  expect(conf).not.toContain("$proxy_add_x_forwarded_for");
  expect(conf).toMatch(/log_format gateway .*xff="\$http_x_forwarded_for"/s);
});

test("TLS: modern protocols only, HSTS, HTTP/2, and plain HTTP only redirects or refuses", () => {
  const conf = renderNginxConf({ ...BASE, tls: { serverName: "ai.example.com", redirectOrigin: "https://ai.example.com" } });
  expect(conf).toContain("ssl_protocols TLSv1.2 TLSv1.3;");
  expect(conf).toContain("http2 on;");
  expect(conf).toContain('add_header Strict-Transport-Security "max-age=63072000" always;');
  const plain = conf.slice(conf.indexOf("listen 8080;"), conf.indexOf("listen 8443 ssl default_server;"));
  expect(plain).not.toContain("proxy_pass");
  expect(plain).toContain("return 301 https://ai.example.com$request_uri;");
  expect(plain).not.toContain("return 308");
});

describe("every value written into nginx.conf must match its grammar (defence in depth behind the validators, F5)", () => {
  const tls = (redirectOrigin: string, serverName = "ai.example.com") => ({ ...BASE, tls: { serverName, redirectOrigin } });

  test.each([
    ["https://ai.example.com;}}server{types{"],
    ["https://$http_x_target"],
    ["https://ai.example.com;b"],
    ["https://ai.example.com/path"],
    ["https://ai.example.com:443 "],
    ["https://ai.example.com'"],
    ["javascript://ai.example.com"],
    ["https://AI.example.com"],
  ])("redirect origin %p is refused", (origin) => {
    expect(() => renderNginxConf(tls(origin))).toThrow(/nginx\.conf: redirect origin .* is not a valid origin/);
  });

  test.each([["https://ai.example.com"], ["https://ai.example.com:8443"], ["http://203.0.113.7:8080"], ["https://[::1]:8443"]])(
    "redirect origin %p is written",
    (origin) => {
      expect(renderNginxConf(tls(origin))).toContain(`return 301 ${origin}$request_uri;`);
    },
  );

  test.each([
    [{ publicHosts: { names: ["ai.example.com;"] } }, /host name "ai\.example\.com;"/],
    [{ adminHosts: { names: ["a b"] } }, /host name "a b"/],
    [{ publicHosts: { names: ["$host"] } }, /host name "\$host"/],
    [tls("https://ai.example.com", "ai.example.com{"), /TLS server name/],
    [{ litellm: { host: "litellm;", port: 4000 } }, /LiteLLM upstream/],
    [{ trustedProxies: ["10.0.0.0/8;"] }, /trusted proxy/],
    [{ adminAllowedCidrs: ["all"] }, /admin network/],
    [{ resolver: "127.0.0.11 ipv6=on" }, /resolver/],
    [{ accessLog: "/dev/stdout gateway; evil" }, /access log/],
  ] as const)("%p is refused", (override, message) => {
    expect(() => renderNginxConf({ ...BASE, ...override } as NginxConfigInput)).toThrow(message);
  });
});
