/**
 * The timeout chain end to end, on a clock 120 times faster: the real nginx on its generated
 * configuration, in front of stand-ins for Open WebUI and LiteLLM that have their real timeout
 * semantics (tests/fixtures/nginx/timeoutHops.ts, configured from the generated config.yaml and
 * environment), in front of the stub provider.
 *  - A stream whose tokens come every 0.6 × LiteLLM's limit, for longer than nginx's limit and
 *    longer than Open WebUI's former total limit, arrives whole: no hop limits a live stream.
 *  - A provider that sends nothing: the client gets LiteLLM's timeout error (408), not Open WebUI's
 *    500 nor nginx's 504, and the provider was called exactly once (no retry of a timeout).
 *  - Control: the former AIOHTTP_CLIENT_TIMEOUT=660 (aiohttp's total) cuts the same stream, so the
 *    stand-in's semantics, not luck, let it through above.
 * Every request runs at once from beforeAll; the suite takes about 10 s.
 */
import * as http from "http";
import { parse } from "yaml";
import { NGINX_PROXY_TIMEOUT_SECONDS, OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS, REQUEST_BUDGET_SECONDS } from "../../lib/constants";
import { renderLitellmConfig } from "../../lib/litellmConfig";
import { BUDGETS } from "../../profiles";
import { describeWith } from "../helpers/requirements";
import { Gateway, nginxRequirements, startGateway } from "../fixtures/nginx/harness";
import { startStub, Stub } from "../fixtures/nginx/stubServer";
import { envRecord } from "../helpers/envList";
import { sampleOpenWebuiEnv } from "../fixtures/openWebuiEnv";
import { aiohttpTimeouts, Hop, litellmTimeoutRetries, startLitellmHop, startOpenWebuiHop } from "../fixtures/nginx/timeoutHops";

/** How much faster the test's clock runs than production's. */
const SPEEDUP = 120;
/** Milliseconds of test time per second of production time. */
const MS_PER_SECOND = 1000 / SPEEDUP;
const LITELLM_LIMIT_MS = REQUEST_BUDGET_SECONDS * MS_PER_SECOND;
const PAUSE_MS = Math.round(LITELLM_LIMIT_MS * 0.6);
/** Three pauses outlast nginx's limit (and Open WebUI's former total limit, 660 s). */
const CHUNKS = 3;
/** The provider never answers within the test. */
const SILENT_MS = 60_000;
/** Open WebUI's setting before this chain was redesigned: a total limit of 660 s. */
const FORMER_OPEN_WEBUI_ENV = { AIOHTTP_CLIENT_TIMEOUT: "660" };

interface Outcome {
  readonly status: number;
  readonly body: string;
  /** The response ended normally (not broken off). */
  readonly complete: boolean;
  readonly seconds: number;
}

/** A POST that reports a response broken off mid-body instead of failing. */
function post(base: string, path: string, id: string, headers: Record<string, string>, body: object): Promise<Outcome> {
  const url = new URL(base);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "x-test-id": id, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let complete = false;
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          complete = true;
        });
        res.on("error", () => undefined);
        res.on("close", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            complete: complete && !res.aborted,
            seconds: (Date.now() - started) / 1000,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

const slowStream = { "x-stub-sse-chunks": String(CHUNKS), "x-stub-sse-pause-ms": String(PAUSE_MS) };
const silent = { "x-stub-delay-ms": String(SILENT_MS) };
const chat = (stream: boolean) => ({ model: "m", messages: [{ role: "user", content: "hi" }], stream });

describeWith("the timeout chain (nginx, Open WebUI, LiteLLM, provider), scaled down", nginxRequirements(), () => {
  const litellmConfig = parse(
    renderLitellmConfig({ models: [{ name: "m", model: "openai/m" }], budget: BUDGETS.test, spendLogRetention: "90d" }),
  );
  const webuiEnv = envRecord(sampleOpenWebuiEnv());
  const nginxSeconds = NGINX_PROXY_TIMEOUT_SECONDS / SPEEDUP;

  let provider: Stub;
  let litellm: Hop;
  let openWebui: Hop;
  let formerOpenWebui: Hop;
  let gateway: Gateway;
  let outcomes: Record<"webuiStream" | "apiStream" | "webuiSilent" | "apiSilent" | "formerWebuiStream", Promise<Outcome>>;

  beforeAll(async () => {
    provider = await startStub("provider");
    litellm = await startLitellmHop({
      provider: { host: "127.0.0.1", port: provider.port },
      readTimeoutMs: litellmConfig.router_settings.timeout * MS_PER_SECOND,
      timeoutRetries: litellmTimeoutRetries(litellmConfig.router_settings),
    });
    const litellmUpstream = { host: "127.0.0.1", port: litellm.port };
    openWebui = await startOpenWebuiHop({ litellm: litellmUpstream, timeouts: aiohttpTimeouts(webuiEnv), msPerSecond: MS_PER_SECOND });
    formerOpenWebui = await startOpenWebuiHop({
      litellm: litellmUpstream,
      timeouts: aiohttpTimeouts({ ...webuiEnv, ...FORMER_OPEN_WEBUI_ENV }),
      msPerSecond: MS_PER_SECOND,
    });
    // nginx takes whole seconds; the scale keeps its limit whole (checked below).
    gateway = await startGateway({
      litellm: { host: "litellm", port: litellm.port },
      openWebui: { host: "open-webui", port: openWebui.port },
      proxyTimeoutSeconds: Math.round(nginxSeconds),
    });
    const base = gateway.publicBase;
    outcomes = {
      webuiStream: post(base, "/api/chat/completions", "webui-stream", slowStream, chat(true)),
      apiStream: post(base, "/api/litellm/v1/chat/completions", "api-stream", slowStream, chat(true)),
      webuiSilent: post(base, "/api/chat/completions", "webui-silent", silent, chat(true)),
      apiSilent: post(base, "/api/litellm/v1/chat/completions", "api-silent", silent, chat(false)),
      formerWebuiStream: post(`http://127.0.0.1:${formerOpenWebui.port}`, "/api/chat/completions", "former", slowStream, chat(true)),
    };
  });

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all([formerOpenWebui?.close(), openWebui?.close(), litellm?.close(), provider?.close()]);
  });

  const providerCalls = (id: string) => provider.requests.filter((r) => r.headers["x-test-id"] === id).length;

  test("the stand-ins run on the generated settings, nested innermost first", () => {
    expect(Number.isInteger(nginxSeconds)).toBe(true);
    expect(gateway.nginx.config).toContain(`proxy_read_timeout ${nginxSeconds}s;`);
    expect(aiohttpTimeouts(webuiEnv)).toEqual({ totalSeconds: null, streamIdleSeconds: OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS });
    expect(litellmTimeoutRetries(litellmConfig.router_settings)).toBe(0);
    expect(litellmConfig.router_settings.timeout).toBeLessThan(OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS);
    expect(OPEN_WEBUI_STREAM_IDLE_TIMEOUT_SECONDS).toBeLessThan(NGINX_PROXY_TIMEOUT_SECONDS);
  });

  test.each([
    ["through Open WebUI", "webuiStream", "webui-stream"],
    ["on the API route", "apiStream", "api-stream"],
  ] as const)("a stream still producing tokens outlives every hop's limit %s", async (_label, key, id) => {
    const outcome = await outcomes[key];
    expect(outcome).toMatchObject({ status: 200, complete: true });
    expect(outcome.body.match(/^data: \{/gm)).toHaveLength(CHUNKS);
    expect(outcome.body).toContain("data: [DONE]");
    // It lasted longer than nginx's limit and Open WebUI's former total limit.
    expect(outcome.seconds).toBeGreaterThan(nginxSeconds);
    expect(providerCalls(id)).toBe(1);
  });

  test.each([
    ["through Open WebUI (streamed)", "webuiSilent", "webui-silent"],
    ["on the API route (not streamed)", "apiSilent", "api-silent"],
  ] as const)("a silent provider: LiteLLM's timeout error reaches the client %s, after one call", async (_label, key, id) => {
    const outcome = await outcomes[key];
    expect(outcome.status).toBe(408);
    expect(JSON.parse(outcome.body).error).toMatchObject({ code: "408", message: expect.stringMatching(/^litellm\.Timeout/) });
    expect(providerCalls(id)).toBe(1);
  });

  test("control: Open WebUI's former total limit (AIOHTTP_CLIENT_TIMEOUT=660) cuts the same stream", async () => {
    const outcome = await outcomes.formerWebuiStream;
    expect(outcome.complete).toBe(false);
    expect(outcome.body).not.toContain("data: [DONE]");
  });
});
