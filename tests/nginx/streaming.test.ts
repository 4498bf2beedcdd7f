/**
 * Streaming is measured, not assumed: the stub writes N server-sent events with a pause between
 * them, each stamped with the time it was written, and the client notes when each arrives through
 * nginx. Every event must arrive within a small bound of being sent; a buffering proxy would hold
 * them back until its buffer filled or the response ended.
 */
import * as http from "http";
import { describeWith } from "../helpers/requirements";
import { Gateway, nginxRequirements, startGateway } from "../fixtures/nginx/harness";
import { RunningNginx, startNginx } from "../fixtures/nginx/nginxRunner";
import { originalConfig } from "../fixtures/nginx/original";
import { nowMs } from "../fixtures/nginx/stubServer";

const CHUNKS = 8;
const PAUSE_MS = 150;
/** How late an event may arrive through nginx, in milliseconds. */
const BOUND_MS = 50;

interface Arrival {
  readonly i: number;
  readonly sentAt: number;
  readonly receivedAt: number;
}

/** Streams a completion and returns, for each event, when the stub sent it and when it arrived. */
function stream(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ arrivals: Arrival[]; headers: http.IncomingHttpHeaders; done: boolean }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: "POST",
        agent: false,
        headers: {
          "content-type": "application/json",
          authorization: "Bearer sk-stream",
          "x-stub-sse-chunks": String(CHUNKS),
          "x-stub-sse-pause-ms": String(PAUSE_MS),
          ...headers,
        },
      },
      (res) => {
        const arrivals: Arrival[] = [];
        let pending = "";
        let done = false;
        res.setEncoding("utf8");
        res.on("data", (text: string) => {
          const receivedAt = nowMs();
          pending += text;
          let end: number;
          while ((end = pending.indexOf("\n\n")) >= 0) {
            const event = pending.slice(0, end);
            pending = pending.slice(end + 2);
            const data = event.replace(/^data: /, "");
            if (data === "[DONE]") {
              done = true;
            } else {
              const parsed = JSON.parse(data);
              arrivals.push({ i: parsed.i, sentAt: parsed.sentAt, receivedAt });
            }
          }
        });
        res.on("end", () => resolve({ arrivals, headers: res.headers, done }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end('{"model":"gpt-4o","stream":true}');
  });
}

function lateness(arrivals: Arrival[]): number[] {
  return arrivals.map((a) => Math.round((a.receivedAt - a.sentAt) * 10) / 10);
}

describeWith("streaming through nginx (measured)", nginxRequirements(), () => {
  let gw: Gateway;
  let original: RunningNginx;

  beforeAll(async () => {
    gw = await startGateway();
    original = await startNginx(gw.dns, {
      configText: (dir, listeners) =>
        originalConfig(dir, listeners, { host: "127.0.0.1", port: gw.litellm.port }, { host: "127.0.0.1", port: gw.openWebui.port }),
    });
  });

  afterAll(async () => {
    await original?.stop();
    await gw?.stop();
  });

  test(`directly from the stub, every event arrives within ${BOUND_MS} ms (the baseline)`, async () => {
    const { arrivals } = await stream(`http://127.0.0.1:${gw.litellm.port}`, "/v1/chat/completions");
    expect(arrivals.map((a) => a.i)).toEqual([...Array(CHUNKS).keys()]);
    expect(Math.max(...lateness(arrivals))).toBeLessThan(BOUND_MS);
  });

  test.each([
    ["the API (/api/litellm/v1/chat/completions)", "/api/litellm/v1/chat/completions", "litellm"],
    ["Open WebUI (/api/chat/completions, client accepting gzip)", "/api/chat/completions", "open-webui"],
  ])(`through nginx to %s every event arrives within ${BOUND_MS} ms of being sent`, async (_label, path, stub) => {
    const { arrivals, headers, done } = await stream(gw.publicBase, path, { "accept-encoding": "gzip" });
    const late = lateness(arrivals);
    console.log(`generated nginx, ${path}: events arrived ${late.join(", ")} ms after they were sent`);
    expect((stub === "litellm" ? gw.litellm : gw.openWebui).requests.at(-1)!.path).toBe(
      stub === "litellm" ? "/v1/chat/completions" : "/api/chat/completions",
    );
    expect(arrivals.map((a) => a.i)).toEqual([...Array(CHUNKS).keys()]);
    expect(done).toBe(true);
    expect(Math.max(...late)).toBeLessThan(BOUND_MS);
    // The events really were spread out in time, and arrived that way.
    const spread = arrivals[CHUNKS - 1].receivedAt - arrivals[0].receivedAt;
    expect(spread).toBeGreaterThan((CHUNKS - 1) * PAUSE_MS * 0.8);
    expect(headers["content-encoding"]).toBeUndefined();
    expect(headers["content-type"]).toBe("text/event-stream");
  });

  test("the admin listener streams too", async () => {
    const { arrivals } = await stream(gw.adminBase, "/v1/chat/completions");
    expect(Math.max(...lateness(arrivals))).toBeLessThan(BOUND_MS);
  });

  test("for comparison (informational): the original configuration", async () => {
    const base = `http://127.0.0.1:${original.listeners.public}`;
    const { arrivals } = await stream(base, "/api/litellm/v1/chat/completions", { "accept-encoding": "gzip" });
    const late = lateness(arrivals);
    const worst = Math.max(...late);
    console.log(
      `original nginx, /api/litellm/v1/chat/completions: ${arrivals.length} events, arrived ${late.join(", ")} ms after they were sent ` +
        `(${worst < BOUND_MS ? "streams" : "held back"}; it also sends Connection: upgrade upstream on every API request: ` +
        `${JSON.stringify(gw.litellm.requests.at(-1)!.headers.connection)})`,
    );
    expect(arrivals).toHaveLength(CHUNKS);
    const webui = await stream(base, "/api/chat/completions", { "accept-encoding": "gzip" });
    const webuiLate = lateness(webui.arrivals);
    console.log(
      `original nginx, Open WebUI's /api/chat/completions (proxy_buffering on there): ${webui.arrivals.length} events, ` +
        `arrived ${webuiLate.join(", ")} ms after they were sent (${Math.max(...webuiLate) < BOUND_MS ? "streams" : "held back"})`,
    );
  });
});
