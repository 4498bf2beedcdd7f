/**
 * The generated nginx.conf on the real nginx (Debian sid's 1.30, the generation of the shipped
 * nginx:1.30.5-alpine), with stand-ins for LiteLLM and Open WebUI: what reaches which upstream,
 * with what path and headers, and what is refused.
 */
import * as http from "http";
import { AZURE_DEPLOYMENT_OPERATIONS, PUBLIC_API_OPERATIONS } from "../../lib/nginxConf";
import { describeWith } from "../helpers/requirements";
import { Gateway, nginxRequirements, request, sleep, startGateway } from "../fixtures/nginx/harness";
import { startDns, startNginx } from "../fixtures/nginx/nginxRunner";
import { startStub } from "../fixtures/nginx/stubServer";

const AUTH = "Bearer sk-test-0123456789abcdefghijklmnopqrstuv";

/** Management endpoints and anything else LiteLLM serves that is not in the public allow-list. */
const DENIED_API_PATHS = [
  "/api/litellm/key/generate",
  "/api/litellm/key/info?key=sk-x",
  "/api/litellm/key/list",
  "/api/litellm/key/delete",
  "/api/litellm/key/regenerate",
  "/api/litellm/team/new",
  "/api/litellm/team/member_add",
  "/api/litellm/user/new",
  "/api/litellm/user/info",
  "/api/litellm/customer/new",
  "/api/litellm/organization/new",
  "/api/litellm/budget/new",
  "/api/litellm/spend/logs",
  "/api/litellm/global/spend/report",
  "/api/litellm/config/update",
  "/api/litellm/get/config/callbacks",
  "/api/litellm/model/new",
  "/api/litellm/model/update",
  "/api/litellm/model/delete",
  "/api/litellm/model/info",
  "/api/litellm/ui",
  "/api/litellm/ui/",
  "/api/litellm/ui/login",
  "/api/litellm/sso/key/generate",
  "/api/litellm/login",
  "/api/litellm/health",
  "/api/litellm/health/liveliness",
  "/api/litellm/health/readiness",
  "/api/litellm/metrics",
  "/api/litellm/openapi.json",
  "/api/litellm/docs",
  "/api/litellm/routes",
  "/api/litellm/chat/completions",
  "/api/litellm/v1/key/generate",
  "/api/litellm/v1/model/info",
  "/api/litellm/v1/health",
  "/api/litellm/v1/metrics",
  "/api/litellm/v1/realtime",
  "/api/litellm/v1/chat/completionsx",
  "/api/litellm/v1/modelsx",
  "/api/litellm/v1/openai/deployments/gpt-4o/images/generations",
  "/api/litellm/v1/openai/deployments/gpt-4o",
  "/api/litellm/v2/rerank",
  // Traversal: nginx normalizes (decodes, resolves dot segments) before matching.
  "/api/litellm/v1/models/../../key/generate",
  "/api/litellm/v1/models/%2e%2e/%2e%2e/key/generate",
  "/api/litellm/v1/chat/completions/../../../api/litellm/spend/logs",
  "/api/litellm/v1/models/..%2f..%2fkey%2fgenerate",
  "/api/litellm/v1/models%2F..%2F..%2Fkey%2Fgenerate",
  "/api/litellm/v1%2fkey%2fgenerate",
  "/api/litellm//key/generate",
  "/api/litellm/v1/../key/generate",
];

/** Paths of LiteLLM's admin UI and management API, which only the admin listener serves. */
const ADMIN_PATHS = [
  "/ui",
  "/ui/",
  "/key/generate",
  "/key/info?key=sk-x",
  "/team/new",
  "/user/new",
  "/spend/logs",
  "/model/new",
  "/health/liveliness",
];

function json(body: string): any {
  return JSON.parse(body);
}

describeWith("nginx routes (generated nginx.conf on the real nginx)", nginxRequirements(), () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway();
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test.each(PUBLIC_API_OPERATIONS.map((op) => [op]))(
    "/api/litellm/v1/%s reaches LiteLLM as /v1/... with its query, body and Authorization intact",
    async (op) => {
      const body = JSON.stringify({ model: "gpt-4o", input: "x".repeat(1000) });
      const reply = await request(gw.publicBase, `/api/litellm/v1/${op}?stream=true&a=b%20c`, {
        method: "POST",
        headers: { authorization: AUTH, "content-type": "application/json" },
        body,
      });
      expect(reply.status).toBe(200);
      const echo = json(reply.body);
      expect(echo).toMatchObject({
        stub: "litellm",
        method: "POST",
        path: `/v1/${op}`,
        query: "stream=true&a=b%20c",
        authorization: AUTH,
        bodyBytes: Buffer.byteLength(body),
      });
    },
  );

  test.each([
    ["/api/litellm/v1/models/gpt-4o", "/v1/models/gpt-4o"],
    ["/api/litellm/v1/models/openai/gpt-4o", "/v1/models/openai/gpt-4o"],
    ["/api/litellm/v1/files/file-abc123/content", "/v1/files/file-abc123/content"],
    ["/api/litellm/v1/batches/batch_1/cancel", "/v1/batches/batch_1/cancel"],
    ["/api/litellm/v1/responses/resp_1/input_items", "/v1/responses/resp_1/input_items"],
    ["/api/litellm/v1/messages/count_tokens", "/v1/messages/count_tokens"],
    ["/api/litellm/v1/models", "/v1/models"],
  ])("sub-path %s reaches LiteLLM as %s", async (path, upstreamPath) => {
    const reply = await request(gw.publicBase, path, { headers: { authorization: AUTH } });
    expect(reply.status).toBe(200);
    expect(json(reply.body)).toMatchObject({ stub: "litellm", path: upstreamPath, authorization: AUTH });
  });

  test.each(AZURE_DEPLOYMENT_OPERATIONS.map((op) => [op]))(
    "Azure-style /api/litellm/v1/openai/deployments/<name>/%s (Continue.dev) reaches LiteLLM's deployment route",
    async (op) => {
      const reply = await request(gw.publicBase, `/api/litellm/v1/openai/deployments/gpt-4o/${op}?api-version=2024-10-21`, {
        method: "POST",
        headers: { "api-key": "sk-azure-style", authorization: AUTH, "content-type": "application/json" },
        body: "{}",
      });
      expect(reply.status).toBe(200);
      expect(json(reply.body)).toMatchObject({
        stub: "litellm",
        path: `/openai/deployments/gpt-4o/${op}`,
        query: "api-version=2024-10-21",
        authorization: AUTH,
      });
      expect(gw.litellm.requests.at(-1)!.headers["api-key"]).toBe("sk-azure-style");
    },
  );

  test("a deployment name with a slash (provider/model) is kept whole", async () => {
    const reply = await request(gw.publicBase, "/api/litellm/v1/openai/deployments/anthropic/claude-sonnet-4-5/chat/completions", {
      method: "POST",
      body: "{}",
    });
    expect(json(reply.body).path).toBe("/openai/deployments/anthropic/claude-sonnet-4-5/chat/completions");
  });

  test("Anthropic's x-api-key and anthropic-version headers reach LiteLLM on /v1/messages", async () => {
    await request(gw.publicBase, "/api/litellm/v1/messages", {
      method: "POST",
      headers: { "x-api-key": "sk-ant-style", "anthropic-version": "2023-06-01" },
      body: "{}",
    });
    const seen = gw.litellm.requests.at(-1)!;
    expect(seen.path).toBe("/v1/messages");
    expect(seen.headers["x-api-key"]).toBe("sk-ant-style");
    expect(seen.headers["anthropic-version"]).toBe("2023-06-01");
  });

  test.each(DENIED_API_PATHS.map((p) => [p]))("%s answers 403 with an OpenAI-format JSON error and never reaches LiteLLM", async (path) => {
    const before = gw.litellm.requests.length;
    for (const method of ["GET", "POST"]) {
      const reply = await request(gw.publicBase, path, {
        method,
        headers: { authorization: AUTH, "content-type": "application/json" },
        body: method === "POST" ? "{}" : undefined,
      });
      expect([path, method, reply.status]).toEqual([path, method, 403]);
      expect(reply.headers["content-type"]).toBe("application/json");
      const error = json(reply.body).error;
      expect(error).toMatchObject({ type: "permission_error", code: "path_not_allowed", param: null });
      expect(error.message).toContain("/api/litellm/v1/");
    }
    expect(gw.litellm.requests.length).toBe(before);
  });

  test.each(ADMIN_PATHS.map((p) => [p]))("management path %s at the public root goes to Open WebUI, never to LiteLLM", async (path) => {
    const before = gw.litellm.requests.length;
    const reply = await request(gw.publicBase, path, { headers: { authorization: AUTH } });
    expect(json(reply.body).stub).toBe("open-webui");
    expect(gw.litellm.requests.length).toBe(before);
  });

  test.each(ADMIN_PATHS.map((p) => [p]))("the admin listener serves LiteLLM's %s unchanged, Authorization intact", async (path) => {
    const reply = await request(gw.adminBase, path, {
      method: path.startsWith("/key/generate") ? "POST" : "GET",
      headers: { authorization: AUTH },
      body: path.startsWith("/key/generate") ? '{"models":["gpt-4o"]}' : undefined,
    });
    expect(reply.status).toBe(200);
    const [pathOnly, query = ""] = path.split("?");
    expect(json(reply.body)).toMatchObject({ stub: "litellm", path: pathOnly, query, authorization: AUTH });
  });

  test("Open WebUI gets everything else at /, with the client's path, query and headers", async () => {
    const reply = await request(gw.publicBase, "/c/123?model=gpt-4o", {
      headers: { authorization: "Bearer webui-jwt", cookie: "token=abc" },
    });
    expect(json(reply.body)).toMatchObject({
      stub: "open-webui",
      path: "/c/123",
      query: "model=gpt-4o",
      authorization: "Bearer webui-jwt",
    });
    expect(gw.openWebui.requests.at(-1)!.headers.cookie).toBe("token=abc");
  });

  test("upstream requests are HTTP/1.1 without Connection: upgrade, and one upstream connection carries consecutive requests", async () => {
    for (const [stub, base, path] of [
      [gw.litellm, gw.publicBase, "/api/litellm/v1/models"],
      [gw.openWebui, gw.publicBase, "/api/v1/chats"],
      [gw.litellm, gw.adminBase, "/key/info"],
    ] as const) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const connectionsBefore = stub.connections();
      const first = await request(base, path, { agent });
      const second = await request(base, path, { agent });
      agent.destroy();
      expect([first.status, second.status]).toEqual([200, 200]);
      const [a, b] = stub.requests.slice(-2);
      expect(a.connection).toBe(b.connection);
      expect(stub.connections() - connectionsBefore).toBeLessThanOrEqual(1);
      for (const seen of [a, b]) {
        expect(seen.httpVersion).toBe("1.1");
        expect(seen.headers.connection).toBeUndefined();
        expect(seen.headers.upgrade).toBeUndefined();
      }
    }
  });

  test("the Socket.IO websocket upgrades through /ws/socket.io and echoes both ways", async () => {
    const url = `ws://127.0.0.1:${gw.nginx.listeners.public}/ws/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(url);
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => {
        ws.send("40");
        ws.send('42["chat","hello"]');
      };
      ws.onmessage = (event) => {
        received.push(String(event.data));
        if (received.length === 2) {
          resolve();
        }
      };
      ws.onerror = () => reject(new Error("websocket error"));
    });
    ws.close();
    expect(received).toEqual(["40", '42["chat","hello"]']);
    const upgrade = gw.openWebui.upgrades.at(-1)!;
    expect(upgrade.path).toBe("/ws/socket.io/");
    expect(upgrade.query).toBe("EIO=4&transport=websocket");
    expect(upgrade.headers.upgrade).toBe("websocket");
    expect(String(upgrade.headers.connection).toLowerCase()).toBe("upgrade");
  });

  test("Socket.IO long-polling on the same path is a plain request (no Connection: upgrade)", async () => {
    const reply = await request(gw.publicBase, "/ws/socket.io/?EIO=4&transport=polling");
    expect(json(reply.body)).toMatchObject({ stub: "open-webui", path: "/ws/socket.io/", connectionHeader: null, upgradeHeader: null });
  });

  test("security headers on every listener and response kind; no nginx version", async () => {
    const replies = [
      await request(gw.publicBase, "/"),
      await request(gw.publicBase, "/api/litellm/v1/models"),
      await request(gw.publicBase, "/api/litellm/key/generate"),
      await request(gw.adminBase, "/ui"),
    ];
    for (const reply of replies) {
      expect(reply.headers["x-content-type-options"]).toBe("nosniff");
      expect(reply.headers["x-frame-options"]).toBe("SAMEORIGIN");
      expect(reply.headers["content-security-policy"]).toBe("frame-ancestors 'self'");
      expect(reply.headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
      expect(reply.headers["strict-transport-security"]).toBeUndefined();
      expect(reply.headers.server).toBe("nginx");
    }
  });

  test("Open WebUI's static JSON and text are gzipped, but server-sent events and the API never are", async () => {
    const gzip = { "accept-encoding": "gzip" };
    const asset = await request(gw.publicBase, "/static/big.json", { headers: { ...gzip, "x-stub-json-bytes": "20000" } });
    expect(asset.headers["content-encoding"]).toBe("gzip");
    const events = await request(gw.publicBase, "/api/chat/completions", {
      method: "POST",
      headers: { ...gzip, "x-stub-sse-chunks": "3", "x-stub-sse-pause-ms": "10", "x-stub-sse-padding": "3000" },
    });
    expect(events.headers["content-type"]).toBe("text/event-stream");
    expect(events.headers["content-encoding"]).toBeUndefined();
    expect(events.body).toContain("data: [DONE]");
    const api = await request(gw.publicBase, "/api/litellm/v1/models", { headers: { ...gzip, "x-stub-json-bytes": "20000" } });
    expect(api.headers["content-encoding"]).toBeUndefined();
  });

  test("request bodies up to 100M pass; larger ones are refused with 413 before reaching LiteLLM", async () => {
    const tenMb = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const ok = await request(gw.publicBase, "/api/litellm/v1/audio/transcriptions", { method: "POST", body: tenMb });
    expect(json(ok.body).bodyBytes).toBe(tenMb.length);
    const before = gw.litellm.requests.length;
    const tooBig = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: gw.nginx.listeners.public,
          path: "/api/litellm/v1/files",
          method: "POST",
          agent: false,
          headers: { "content-length": String(100 * 1024 * 1024 + 1) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on("error", reject);
      req.write("a");
    });
    expect(tooBig).toBe(413);
    expect(gw.litellm.requests.length).toBe(before);
  });

  test("upstreams see the client, not what the client claims; the access log keeps both, without query strings", async () => {
    await request(gw.publicBase, "/api/litellm/v1/models?after=secret-query-value", { headers: { "x-forwarded-for": "198.51.100.66" } });
    const echo = gw.litellm.requests.at(-1)!;
    expect(echo.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(echo.headers["x-real-ip"]).toBe("127.0.0.1");
    expect(echo.headers["x-forwarded-proto"]).toBe("http");
    const line = await gw.nginx.logLine((l) => l.includes('xff="198.51.100.66"'));
    expect(line).toMatch(/^127\.0\.0\.1 peer=127\.0\.0\.1 \[.+\] "GET \/api\/litellm\/v1\/models HTTP\/1\.1" 200 /);
    expect(gw.nginx.accessLog()).not.toContain("secret-query-value");
  });

  test("the health listener answers for Docker's healthcheck", async () => {
    const reply = await request(`http://127.0.0.1:${gw.nginx.listeners.health}`, "/healthz");
    expect([reply.status, reply.body]).toEqual([200, "ok\n"]);
  });
});

describeWith("nginx starts before its upstreams exist", nginxRequirements(), () => {
  test("upstream names unknown at start: nginx runs, answers 502 JSON, then serves once DNS and LiteLLM appear", async () => {
    // A resolver port with nothing behind it yet: nginx must not need the names to start.
    const placeholder = await startDns([]);
    const resolverPort = Number(placeholder.server.split(":")[1]);
    await placeholder.stop();
    const litellm = await startStub("litellm");
    const nginx = await startNginx(
      { server: `127.0.0.1:${resolverPort}`, stop: async () => undefined },
      { input: { litellm: { host: "litellm", port: litellm.port }, openWebui: { host: "open-webui", port: litellm.port } } },
    );
    const base = `http://127.0.0.1:${nginx.listeners.public}`;
    let dns: Awaited<ReturnType<typeof startDns>> | undefined;
    try {
      const early = await request(base, "/api/litellm/v1/models");
      expect(early.status).toBe(502);
      expect(JSON.parse(early.body).error.code).toBe("upstream_unavailable");

      dns = await startDns(["litellm", "open-webui"], resolverPort);
      const started = Date.now();
      let status = 0;
      while (Date.now() - started < 30000) {
        status = (await request(base, "/api/litellm/v1/models")).status;
        if (status === 200) {
          break;
        }
        await sleep(250);
      }
      expect(status).toBe(200);
      console.log(`nginx served the upstream ${((Date.now() - started) / 1000).toFixed(1)} s after its name became resolvable`);
    } finally {
      await nginx.stop();
      await litellm.close();
      await dns?.stop();
    }
  });
});
