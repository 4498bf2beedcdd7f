/**
 * Per-client API rate limit, trusted proxies (the real client address) and the admin listener's
 * source allow-list, on the real nginx.
 */
import { apiRateLimitBurst } from "../../lib/nginxConf";
import { describeWith } from "../helpers/requirements";
import { Gateway, nginxRequirements, request, sleep, startGateway } from "../fixtures/nginx/harness";

const RATE_PER_MINUTE = 60;
const BURST = apiRateLimitBurst(RATE_PER_MINUTE);

async function statuses(gw: Gateway, path: string, count: number, headers: (i: number) => Record<string, string> = () => ({})) {
  const result: number[] = [];
  for (let i = 0; i < count; i++) {
    result.push((await request(gw.publicBase, path, { headers: headers(i) })).status);
  }
  return result;
}

describeWith("API rate limit, without trusted proxies", nginxRequirements(), () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway({ apiRateLimitPerMinute: RATE_PER_MINUTE, adminAllowedCidrs: ["10.0.0.0/8"] });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test(`${RATE_PER_MINUTE}/min allows a burst of ${BURST} beyond the first request, then answers 429 with a JSON error and Retry-After`, async () => {
    const results = await statuses(gw, "/api/litellm/v1/models", BURST + 10);
    const allowed = results.filter((s) => s === 200).length;
    // One request, the burst, and at most one more if a second passed meanwhile (1/s refill).
    expect(allowed).toBeGreaterThanOrEqual(BURST + 1);
    expect(allowed).toBeLessThanOrEqual(BURST + 2);
    expect(results.slice(0, BURST + 1).every((s) => s === 200)).toBe(true);
    expect(results.slice(-5).every((s) => s === 429)).toBe(true);
    const limited = await request(gw.publicBase, "/api/litellm/v1/chat/completions", { method: "POST", body: "{}" });
    expect(limited.status).toBe(429);
    expect(limited.headers["content-type"]).toBe("application/json");
    expect(limited.headers["retry-after"]).toBe("1");
    expect(limited.headers["x-content-type-options"]).toBe("nosniff");
    expect(JSON.parse(limited.body).error).toMatchObject({ type: "rate_limit_error", code: "rate_limited" });
  });

  test("a client cannot escape the limit by sending its own X-Forwarded-For", async () => {
    const results = await statuses(gw, "/api/litellm/v1/models", 5, (i) => ({ "x-forwarded-for": `198.51.100.${i + 1}` }));
    expect(results).toEqual([429, 429, 429, 429, 429]);
  });

  test("Open WebUI is not rate limited", async () => {
    expect(await statuses(gw, "/", BURST + 10)).toEqual(Array(BURST + 10).fill(200));
  });

  test("the limit refills at the configured rate", async () => {
    await sleep(2100);
    expect((await request(gw.publicBase, "/api/litellm/v1/models")).status).toBe(200);
  });

  test("the admin listener refuses sources outside adminAllowedCidrs (here 127.0.0.1 is outside 10.0.0.0/8)", async () => {
    const before = gw.litellm.requests.length;
    const reply = await request(gw.adminBase, "/ui");
    expect(reply.status).toBe(403);
    expect(gw.litellm.requests.length).toBe(before);
  });
});

describeWith("trusted proxies and the real client address", nginxRequirements(), () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway({
      trustedProxies: ["127.0.0.0/8"],
      apiRateLimitPerMinute: RATE_PER_MINUTE,
      adminAllowedCidrs: ["127.0.0.0/8"],
    });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  test("behind a trusted proxy, upstreams and the access log get the client from X-Forwarded-For, and its scheme", async () => {
    await request(gw.publicBase, "/api/litellm/v1/models", { headers: { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https" } });
    const seen = gw.litellm.requests.at(-1)!;
    expect(seen.headers["x-forwarded-for"]).toBe("203.0.113.7");
    expect(seen.headers["x-real-ip"]).toBe("203.0.113.7");
    expect(seen.headers["x-forwarded-proto"]).toBe("https");
    const line = await gw.nginx.logLine((l) => l.startsWith("203.0.113.7 "));
    expect(line).toMatch(/^203\.0\.113\.7 peer=127\.0\.0\.1 .* xff="203\.0\.113\.7"/);
  });

  test("with a forwarded chain the client is its last untrusted address; without X-Forwarded-Proto the scheme is nginx's own", async () => {
    // The trusted proxy (127.0.0.1) passes a chain whose last untrusted hop is the client.
    await request(gw.publicBase, "/api/litellm/v1/models", { headers: { "x-forwarded-for": "198.51.100.1, 203.0.113.8" } });
    expect(gw.litellm.requests.at(-1)!.headers["x-real-ip"]).toBe("203.0.113.8");
    expect(gw.litellm.requests.at(-1)!.headers["x-forwarded-proto"]).toBe("http");
  });

  test("the rate limit counts each real client separately", async () => {
    const first = await statuses(gw, "/api/litellm/v1/models", BURST + 5, () => ({ "x-forwarded-for": "203.0.113.20" }));
    expect(first.slice(-3)).toEqual([429, 429, 429]);
    const other = await request(gw.publicBase, "/api/litellm/v1/models", { headers: { "x-forwarded-for": "203.0.113.21" } });
    expect(other.status).toBe(200);
  });

  test("the admin listener believes no proxy: its allow-list, LiteLLM and the log see the TCP peer and nginx's own scheme", async () => {
    expect((await request(gw.adminBase, "/ui")).status).toBe(200);
    const reply = await request(gw.adminBase, "/ui", { headers: { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https" } });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ xForwardedFor: "127.0.0.1", xRealIp: "127.0.0.1", xForwardedProto: "http" });
    const line = await gw.nginx.logLine((l) => l.includes('xff="203.0.113.7"') && l.includes('"GET /ui '));
    expect(line).toMatch(/^127\.0\.0\.1 peer=127\.0\.0\.1 /);
  });

  test("the admin listener is not rate limited", async () => {
    const results: number[] = [];
    for (let i = 0; i < BURST + 10; i++) {
      results.push((await request(gw.adminBase, "/key/info")).status);
    }
    expect(results).toEqual(Array(BURST + 10).fill(200));
  });
});
