/**
 * The security review's nginx findings on the real nginx (Debian sid's 1.30): forwarded headers
 * believed only on the public listeners (F2), cleartext API calls refused in TLS mode (F9), keys in
 * query strings refused and kept out of both logs (F10), Host and TLS server name checked (F14),
 * only websocket upgrades forwarded (F18), and LiteLLM's internal response headers hidden from
 * public clients (F7).
 */
import { spawnSync } from "child_process";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import * as tls from "tls";
import { adminHosts, publicHosts } from "../../lib/hostNames";
import { CREDENTIAL_PATH_PREFIXES, CREDENTIAL_QUERY_PARAMETERS, HIDDEN_UPSTREAM_HEADERS } from "../../lib/nginxConf";
import { nginxHealthcheck } from "../../lib/services";
import { describeWith } from "../helpers/requirements";
import { Gateway, nginxRequirements, Reply, request, startGateway } from "../fixtures/nginx/harness";
import { freePort } from "../fixtures/nginx/nginxRunner";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";

const AUTH = "Bearer sk-test-0123456789abcdefghijklmnopqrstuv";
const LOCAL_DOCKER = "unix:///var/run/docker.sock";

function json(reply: Reply): any {
  return JSON.parse(reply.body);
}

/**
 * Bytes written as they are (no Host header unless given), and what came back before the server
 * closed, or only the first chunk (an upgraded connection stays open).
 */
function raw(port: number, text: string, firstChunkOnly = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    let data = "";
    socket.on("data", (d) => {
      data += d;
      if (firstChunkOnly) {
        socket.destroy();
        resolve(data);
      }
    });
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
}

describeWith("F2: forwarded headers are believed on the public listener only", nginxRequirements(), () => {
  let gw: Gateway;

  beforeAll(async () => {
    // The review's reproduction: the peer (127.0.0.1) is a trusted proxy, the admin network is elsewhere.
    gw = await startGateway({ trustedProxies: ["127.0.0.0/8"], adminAllowedCidrs: ["10.8.0.0/24"], apiRateLimitPerMinute: 60 });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test.each([[undefined], ["10.8.0.5"], ["10.8.0.5, 127.0.0.9"], ["198.51.100.1, 10.8.0.5"]])(
    "POST /key/generate on the admin listener from a trusted peer with X-Forwarded-For %p: 403, never reaches LiteLLM",
    async (xff) => {
      const before = gw.litellm.requests.length;
      const reply = await request(gw.adminBase, "/key/generate", {
        method: "POST",
        headers: { authorization: AUTH, ...(xff !== undefined ? { "x-forwarded-for": xff } : {}) },
        body: '{"models":["gpt-4o"]}',
      });
      expect(reply.status).toBe(403);
      expect(gw.litellm.requests.length).toBe(before);
    },
  );

  test("the public listener still takes the client and scheme from the trusted proxy", async () => {
    const reply = await request(gw.publicBase, "/api/litellm/v1/models", {
      headers: { "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https" },
    });
    expect(json(reply)).toMatchObject({ xRealIp: "203.0.113.9", xForwardedFor: "203.0.113.9", xForwardedProto: "https" });
  });
});

describeWith("F2: a peer outside trustedProxies cannot rotate X-Forwarded-For past the rate limit", nginxRequirements(), () => {
  test("trustedProxies 10.0.0.0/8, peer 127.0.0.1: every forged address shares the peer's bucket", async () => {
    const gw = await startGateway({ trustedProxies: ["10.0.0.0/8"], apiRateLimitPerMinute: 6 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const reply = await request(gw.publicBase, "/api/litellm/v1/models", { headers: { "x-forwarded-for": `198.51.100.${i + 1}` } });
        statuses.push(reply.status);
      }
      // Rate 6/min: burst 1, so the first two pass and the rest are refused whatever the header says.
      expect(statuses.slice(0, 2)).toEqual([200, 200]);
      expect(statuses.slice(2)).toEqual([429, 429, 429, 429]);
      expect(gw.litellm.requests.every((r) => r.headers["x-forwarded-for"] === "127.0.0.1")).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});

const TLS_HOST = "gateway.test";
const CERT = selfSignedCertificate([TLS_HOST]);

interface TlsResult {
  readonly status?: number;
  readonly body?: string;
  readonly certificate?: boolean;
  readonly error?: string;
}

/** An HTTPS GET with the given TLS server name (none: no SNI) and Host. */
function httpsGet(port: number, servername: string | undefined, host: string, rawPath = "/"): Promise<TlsResult> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        path: rawPath,
        headers: { host },
        agent: false,
        rejectUnauthorized: false,
        ...(servername !== undefined ? { servername } : {}),
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode, body, certificate: true }));
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

/** A bare handshake: whether the server sent a certificate. */
function handshake(port: number, servername: string | undefined): Promise<TlsResult> {
  return new Promise((resolve) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, rejectUnauthorized: false, ...(servername !== undefined ? { servername } : {}) },
      () => {
        resolve({ certificate: Object.keys(socket.getPeerCertificate()).length > 0 });
        socket.end();
      },
    );
    socket.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
  });
}

describeWith("TLS mode: cleartext API refused (F9), only the domain answered (F14)", nginxRequirements(), () => {
  let gw: Gateway;
  const origin = `https://${TLS_HOST}:8443`;

  beforeAll(async () => {
    gw = await startGateway(
      (dir) => ({
        tls: {
          serverName: TLS_HOST,
          redirectOrigin: origin,
          certificateFile: path.join(dir, "gateway-tls.crt"),
          keyFile: path.join(dir, "gateway-tls.key"),
        },
        // A gateway on every interface with a domain: only the domain is answered.
        publicHosts: publicHosts({ bindAddress: "0.0.0.0", publicUrl: origin, domain: TLS_HOST, dockerHost: LOCAL_DOCKER }),
      }),
      { files: { "gateway-tls.crt": CERT.cert, "gateway-tls.key": CERT.key } },
    );
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test.each([
    ["/api/litellm/v1/chat/completions", "POST"],
    ["/api/litellm/v1/models", "GET"],
    ["/api/v1/chats/new", "POST"],
    ["/api/chat/completions", "POST"],
    ["/openai/chat/completions", "POST"],
    ["/ollama/api/chat", "POST"],
    ["/ws/socket.io/?EIO=4&transport=polling", "GET"],
    ["/API/v1/chats/new", "POST"],
    ["/%61pi/litellm/v1/models", "GET"],
  ])("plain HTTP %s (%s) with a key: 403 JSON naming the https origin, never forwarded", async (rawPath, method) => {
    const before = [gw.litellm.requests.length, gw.openWebui.requests.length];
    const reply = await request(gw.publicBase, rawPath, {
      method,
      headers: { host: TLS_HOST, authorization: AUTH, "content-type": "application/json" },
      body: method === "POST" ? "{}" : undefined,
    });
    expect(reply.status).toBe(403);
    expect(reply.headers["content-type"]).toBe("application/json");
    expect(reply.headers.location).toBeUndefined();
    const error = json(reply).error;
    expect(error).toMatchObject({ type: "permission_error", code: "https_required" });
    expect(error.message).toContain(`use ${origin}.`);
    expect([gw.litellm.requests.length, gw.openWebui.requests.length]).toEqual(before);
  });

  test("every credential-carrying prefix is covered", () => {
    expect(CREDENTIAL_PATH_PREFIXES).toEqual(["api", "openai", "ollama", "ws"]);
  });

  test("web UI pages still redirect (301) for browsers", async () => {
    for (const rawPath of ["/", "/c/123?model=gpt-4o", "/auth", "/static/x.css"]) {
      const reply = await request(gw.publicBase, rawPath, { headers: { host: TLS_HOST } });
      expect([rawPath, reply.status, reply.headers.location]).toEqual([rawPath, 301, `${origin}${rawPath}`]);
    }
  });

  test("plain HTTP with another Host (a loopback name too: the domain is set) gets 421, not a redirect", async () => {
    for (const host of ["127.0.0.1", "rebind.attacker.example", "192.0.2.10"]) {
      const reply = await request(gw.publicBase, "/c/1", { headers: { host } });
      expect([host, reply.status]).toEqual([host, 421]);
      expect(json(reply).error.code).toBe("misdirected_request");
    }
  });

  test("HTTPS: the domain's server name handshakes and serves; an unknown one, or none, is refused before any certificate", async () => {
    const port = gw.nginx.listeners.https;
    expect(await handshake(port, TLS_HOST)).toEqual({ certificate: true });
    expect((await httpsGet(port, TLS_HOST, TLS_HOST, "/c/1")).status).toBe(200);
    for (const servername of ["rebind.attacker.example", undefined]) {
      const result = await handshake(port, servername);
      expect(result.certificate).toBeUndefined();
      expect(result.error).toBe("ERR_SSL_TLSV1_UNRECOGNIZED_NAME");
    }
  });

  test("HTTPS with the right server name but another Host: 421 from the default server, not Open WebUI", async () => {
    const before = gw.openWebui.requests.length;
    const reply = await httpsGet(gw.nginx.listeners.https, TLS_HOST, "rebind.attacker.example", "/c/1");
    expect(reply.status).toBe(421);
    expect(JSON.parse(reply.body!).error.code).toBe("misdirected_request");
    expect(gw.openWebui.requests.length).toBe(before);
  });
});

describeWith("F14: Host checks on the plain listeners", nginxRequirements(), () => {
  let local: Gateway;
  let wide: Gateway;

  beforeAll(async () => {
    // Defaults: a gateway on loopback without a domain answers the loopback names only.
    local = await startGateway({});
    // Public listener on every interface without a domain, reached through an ssh:// Docker host;
    // admin listener on a VPN address.
    wide = await startGateway({
      publicHosts: publicHosts({
        bindAddress: "0.0.0.0",
        publicUrl: "http://gw.example.net:8080",
        domain: undefined,
        dockerHost: "ssh://deploy@gw.example.net",
      }),
      adminHosts: adminHosts("10.8.0.1", LOCAL_DOCKER),
    });
  });

  afterAll(async () => {
    await local?.stop();
    await wide?.stop();
  });

  test("rebinding-style Host names get 421 on the public and the admin listener and reach no upstream", async () => {
    const before = [local.litellm.requests.length, local.openWebui.requests.length];
    for (const [base, rawPath] of [
      [local.publicBase, "/"],
      [local.publicBase, "/api/litellm/v1/models"],
      [local.adminBase, "/key/generate"],
    ]) {
      for (const host of ["rebind.attacker.example", "rebind.attacker.example:8080", "127.0.0.1.nip.io", "0.0.0.0:8080"]) {
        const reply = await request(base, rawPath, { headers: { host, authorization: AUTH } });
        expect([base, rawPath, host, reply.status]).toEqual([base, rawPath, host, 421]);
        expect(reply.headers["content-type"]).toBe("application/json");
        expect(json(reply).error.code).toBe("misdirected_request");
      }
    }
    expect([local.litellm.requests.length, local.openWebui.requests.length]).toEqual(before);
  });

  test("a request without Host (HTTP/1.0) gets 421", async () => {
    const answer = await raw(local.nginx.listeners.public, "GET / HTTP/1.0\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 421 /);
  });

  test("loopback names, with or without a port and in any case, are served on a loopback gateway", async () => {
    for (const base of [local.publicBase, local.adminBase]) {
      for (const host of ["127.0.0.1", "127.0.0.1:8080", "localhost:4001", "LOCALHOST", "[::1]:8080"]) {
        const reply = await request(base, "/ui", { headers: { host } });
        expect([base, host, reply.status]).toEqual([base, host, 200]);
      }
    }
  });

  test("on every interface: publicUrl's host, the ssh host and IPv4 literals are served; other names and 0.0.0.0 are not", async () => {
    const served = ["gw.example.net:8080", "192.0.2.10:8080", "10.0.0.7", "localhost"];
    const refused = ["rebind.attacker.example", "0.0.0.0:8080", "gw.example.net.attacker.example", "999.1.1.1x"];
    for (const host of served) {
      expect([host, (await request(wide.publicBase, "/", { headers: { host } })).status]).toEqual([host, 200]);
    }
    for (const host of refused) {
      expect([host, (await request(wide.publicBase, "/", { headers: { host } })).status]).toEqual([host, 421]);
    }
  });

  test("the admin listener on a VPN address answers that address and the loopback names only", async () => {
    for (const [host, status] of [
      ["10.8.0.1:4001", 200],
      ["localhost:4001", 200],
      ["10.8.0.2:4001", 421],
      ["gw.example.net:4001", 421],
    ] as const) {
      expect([host, (await request(wide.adminBase, "/ui", { headers: { host } })).status]).toEqual([host, status]);
    }
  });

  test("Docker's healthcheck command (run as written, on the test's health port) still passes", () => {
    const [kind, ...argv] = nginxHealthcheck().test;
    expect(kind).toBe("CMD");
    const url = argv.at(-1)!;
    expect(url).toBe("http://127.0.0.1:8079/healthz");
    const command = [...argv.slice(0, -1), url.replace(":8079", `:${local.nginx.listeners.health}`)];
    const result = spawnSync(command[0], command.slice(1), { encoding: "utf8", timeout: 10000 });
    expect([result.status, result.stderr]).toEqual([0, ""]);
  });
});

describeWith("F10: keys in query strings are refused and never reach either log", nginxRequirements(), () => {
  let gw: Gateway;

  beforeAll(async () => {
    // LiteLLM's address has nothing behind it, so every forwarded API call fails with 502 (an
    // error-log line), and the rate limit is low enough to trip (another error-log line).
    const dead = await freePort();
    gw = await startGateway({ litellm: { host: "litellm", port: dead }, apiRateLimitPerMinute: 6 });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const variants = CREDENTIAL_QUERY_PARAMETERS.flatMap((name) => [
    `${name}=sk-secret-in-query-${name}`,
    `a=1&${name.toUpperCase()}=sk-secret-in-query-upper`,
    // LiteLLM (Starlette) decodes parameter names: k%65y is key.
    `${name.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`)}=sk-secret-in-query-encoded`,
    `${name}`,
  ]);

  test.each(variants.map((v) => [v]))("?%s on an API route: 400 JSON before proxying or rate limiting", async (query) => {
    for (const rawPath of ["/api/litellm/v1/models", "/api/litellm/v1/openai/deployments/gpt-4o/chat/completions"]) {
      const reply = await request(gw.publicBase, `${rawPath}?${query}`, { method: "POST", body: "{}" });
      expect([rawPath, reply.status]).toEqual([rawPath, 400]);
      expect(reply.headers["content-type"]).toBe("application/json");
      expect(reply.headers["x-content-type-options"]).toBe("nosniff");
      expect(json(reply).error).toMatchObject({ type: "invalid_request_error", code: "credential_in_query" });
    }
  });

  test("parameters that only resemble one pass (Azure's api-version, keys, monkey, a key in a value)", async () => {
    const reply = await request(gw.publicBase, "/api/litellm/v1/models?api-version=2024-10-21&keys=1&monkey=2&q=key%3D1");
    expect(reply.status).toBe(502);
    expect(json(reply).error.code).toBe("upstream_unavailable");
  });

  test("a 502 and a limit_req rejection with a key in the query leave it in neither log; a harmless query stays in error lines", async () => {
    expect((await request(gw.publicBase, "/api/litellm/v1/models?after=harmless-502")).status).toBe(502);
    let status = 0;
    for (let i = 0; i < 5 && status !== 429; i++) {
      status = (await request(gw.publicBase, "/api/litellm/v1/models?after=harmless-429")).status;
    }
    expect(status).toBe(429);
    // The same two situations, now with keys in the query.
    expect((await request(gw.publicBase, "/api/litellm/v1/models?api_key=sk-secret-in-query-502")).status).toBe(400);
    expect((await request(gw.publicBase, "/api/litellm/v1/chat/completions?key=sk-secret-in-query-429")).status).toBe(400);
    const access = await gw.nginx.logLine((l) => l.includes('"GET /api/litellm/v1/chat/completions HTTP/1.1" 400'));
    expect(access).toBeDefined();
    const errors = gw.nginx.errors();
    // What the error log is: the request lines of the 502 and the rejection, query included.
    expect(errors).toMatch(/connect\(\) failed .*request: "GET \/api\/litellm\/v1\/models\?after=harmless-502 HTTP\/1\.1"/);
    expect(errors).toMatch(/limiting requests.*request: "GET \/api\/litellm\/v1\/models\?after=harmless-429 HTTP\/1\.1"/);
    for (const log of [errors, gw.nginx.accessLog()]) {
      expect(log).not.toContain("sk-secret-in-query");
    }
    expect(gw.nginx.accessLog()).not.toContain("?");
  });
});

describeWith("F18 and F7: upgrades and response headers", nginxRequirements(), () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway({});
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test.each([["/"], ["/api/v1/chats"], ["/ws/socket.io/?EIO=4&transport=polling"]])(
    "Upgrade: h2c with HTTP2-Settings on %s reaches Open WebUI as a plain request",
    async (rawPath) => {
      const upgradesBefore = gw.openWebui.upgrades.length;
      const answer = await raw(
        gw.nginx.listeners.public,
        `GET ${rawPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n` +
          "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: close\r\n\r\n",
      );
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      const seen = gw.openWebui.requests.at(-1)!;
      expect(seen.headers.upgrade).toBeUndefined();
      expect(seen.headers.connection).toBeUndefined();
      expect(seen.headers["http2-settings"]).toBeUndefined();
      expect(gw.openWebui.upgrades.length).toBe(upgradesBefore);
    },
  );

  test("a websocket upgrade on /ws/socket.io is still passed on, whatever the token's case", async () => {
    const upgradesBefore = gw.openWebui.upgrades.length;
    const answer = await raw(
      gw.nginx.listeners.public,
      "GET /ws/socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      true,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 101 /);
    expect(gw.openWebui.upgrades.length).toBe(upgradesBefore + 1);
    expect(gw.openWebui.upgrades.at(-1)!.headers.upgrade).toBe("websocket");
  });

  const KEPT = {
    "x-litellm-call-id": "call-1",
    "x-litellm-response-cost": "0.0012",
    "x-litellm-key-spend": "1.5",
    "x-litellm-key-max-budget": "15.0",
    "x-ratelimit-remaining-requests": "99",
  };
  const upstreamHeaders = {
    ...Object.fromEntries(HIDDEN_UPSTREAM_HEADERS.map((name) => [name, `internal-${name}`])),
    "x-litellm-model-api-base": "https://user:pw@internal:8000/v1",
    ...KEPT,
    "x-frame-options": "DENY",
  };

  test("public API clients never see the internal headers; they keep their own cost, spend and rate-limit headers", async () => {
    for (const rawPath of ["/api/litellm/v1/chat/completions", "/api/litellm/v1/openai/deployments/gpt-4o/chat/completions"]) {
      const reply = await request(gw.publicBase, rawPath, {
        method: "POST",
        headers: { "x-stub-response-headers": JSON.stringify(upstreamHeaders) },
        body: "{}",
      });
      expect(reply.status).toBe(200);
      for (const name of HIDDEN_UPSTREAM_HEADERS) {
        expect([rawPath, name, reply.headers[name]]).toEqual([rawPath, name, undefined]);
      }
      expect(JSON.stringify(reply.headers)).not.toContain("internal");
      expect(reply.headers).toMatchObject(KEPT);
      // The http level's hidden duplicates stay hidden too: nginx's own value, once.
      expect(reply.headers["x-frame-options"]).toBe("SAMEORIGIN");
    }
  });

  test("the admin listener keeps them (the operator's view)", async () => {
    const reply = await request(gw.adminBase, "/v1/chat/completions", {
      method: "POST",
      headers: { "x-stub-response-headers": JSON.stringify(upstreamHeaders) },
      body: "{}",
    });
    expect(reply.headers["x-litellm-model-api-base"]).toBe("https://user:pw@internal:8000/v1");
    expect(reply.headers["x-litellm-version"]).toBe("internal-x-litellm-version");
  });
});
