/**
 * The timeout in effect is the configured one, not nginx's 60 s default.
 *  - A gateway rendered with a 2 s proxy timeout cuts a response that takes 3 s (504, JSON) and
 *    lets one that takes 1 s through, and a stream whose events are 1.5 s apart keeps going past
 *    2 s: the limit is between reads, as nginx's proxy_read_timeout is.
 *  - With the production setting (NGINX_PROXY_TIMEOUT_SECONDS), a completion the stub answers
 *    after 61 s, longer than nginx's default 60 s, is not cut. It runs in the background while
 *    the other tests run.
 */
import { NGINX_PROXY_TIMEOUT_SECONDS, REQUEST_BUDGET_SECONDS } from "../../lib/constants";
import { describeWith } from "../helpers/requirements";
import { Gateway, nginxRequirements, Reply, request, startGateway } from "../fixtures/nginx/harness";

const SHORT_TIMEOUT_SECONDS = 2;
const BEYOND_NGINX_DEFAULT_MS = 61_000;

describeWith("nginx timeouts", nginxRequirements(), () => {
  let production: Gateway;
  let short: Gateway;
  let slowCompletion: Promise<{ reply: Reply; seconds: number }>;

  beforeAll(async () => {
    production = await startGateway();
    short = await startGateway({ proxyTimeoutSeconds: SHORT_TIMEOUT_SECONDS });
    const started = Date.now();
    slowCompletion = request(production.publicBase, "/api/litellm/v1/chat/completions", {
      method: "POST",
      headers: { "x-stub-delay-ms": String(BEYOND_NGINX_DEFAULT_MS) },
      body: "{}",
    }).then((reply) => ({ reply, seconds: (Date.now() - started) / 1000 }));
  });

  afterAll(async () => {
    await short?.stop();
    await production?.stop();
  });

  test("the production timeout covers the request budget and is what nginx.conf says", () => {
    expect(NGINX_PROXY_TIMEOUT_SECONDS).toBeGreaterThan(REQUEST_BUDGET_SECONDS);
    expect(production.nginx.config).toContain(`proxy_read_timeout ${NGINX_PROXY_TIMEOUT_SECONDS}s;`);
    expect(production.nginx.config).toContain(`proxy_send_timeout ${NGINX_PROXY_TIMEOUT_SECONDS}s;`);
    expect(short.nginx.config).toContain(`proxy_read_timeout ${SHORT_TIMEOUT_SECONDS}s;`);
  });

  test.each([
    ["the API", "/api/litellm/v1/chat/completions"],
    ["Open WebUI", "/api/chat/completions"],
  ])(`%s: a response slower than the configured ${SHORT_TIMEOUT_SECONDS} s is cut with 504`, async (_label, path) => {
    const started = Date.now();
    const reply = await request(short.publicBase, path, { method: "POST", headers: { "x-stub-delay-ms": "3000" }, body: "{}" });
    const seconds = (Date.now() - started) / 1000;
    expect(reply.status).toBe(504);
    expect(seconds).toBeGreaterThanOrEqual(SHORT_TIMEOUT_SECONDS - 0.1);
    expect(seconds).toBeLessThan(SHORT_TIMEOUT_SECONDS + 0.9);
    if (path.startsWith("/api/litellm/")) {
      expect(JSON.parse(reply.body).error).toMatchObject({ type: "api_error", code: "upstream_timeout" });
    }
  });

  test(`a response faster than the configured ${SHORT_TIMEOUT_SECONDS} s is not`, async () => {
    const reply = await request(short.publicBase, "/api/litellm/v1/chat/completions", {
      method: "POST",
      headers: { "x-stub-delay-ms": "1000" },
      body: "{}",
    });
    expect(reply.status).toBe(200);
  });

  test(`a stream lasting 6 s with events 1.5 s apart is not cut by a ${SHORT_TIMEOUT_SECONDS} s timeout`, async () => {
    const reply = await request(short.publicBase, "/api/litellm/v1/chat/completions", {
      method: "POST",
      headers: { "x-stub-sse-chunks": "4", "x-stub-sse-pause-ms": "1500" },
      body: "{}",
    });
    expect(reply.status).toBe(200);
    expect(reply.body.match(/^data: \{/gm)).toHaveLength(4);
    expect(reply.body).toContain("data: [DONE]");
  });

  test("the Open WebUI websocket is not bound by the HTTP timeout", () => {
    expect(short.nginx.config).toMatch(/location \/ws\/socket\.io \{[^}]*proxy_read_timeout 86400s;/);
  });

  test(
    `with the production timeout, a completion answered after ${BEYOND_NGINX_DEFAULT_MS / 1000} s (beyond nginx's default 60 s) is not cut`,
    async () => {
      const { reply, seconds } = await slowCompletion;
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body)).toMatchObject({ stub: "litellm", path: "/v1/chat/completions" });
      expect(seconds).toBeGreaterThanOrEqual(BEYOND_NGINX_DEFAULT_MS / 1000);
    },
    BEYOND_NGINX_DEFAULT_MS + 30_000,
  );
});
