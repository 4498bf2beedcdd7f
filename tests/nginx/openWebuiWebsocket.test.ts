/**
 * Open WebUI's Socket.IO websocket through the gateway's real nginx, from every origin
 * lib/openWebuiOrigins.ts derives (accepted) and from foreign ones (refused). Open WebUI is the
 * stand-in running Debian's python-socketio/python-engineio with the environment lib/services.ts
 * gives the real container, so the Origin check is engineio's own, fed by CORS_ALLOW_ORIGIN as
 * Open WebUI 0.11.4 feeds it (socket/main.py).
 */
import * as http from "http";
import { openWebuiOrigins } from "../../lib/openWebuiOrigins";
import { openWebuiEnv } from "../../lib/services";
import { resolveSettings, SettingsInput } from "../../lib/settings";
import { Dns, RunningNginx, startDns, startNginx } from "../fixtures/nginx/nginxRunner";
import { nginxRequirements, request } from "../fixtures/nginx/harness";
import { startStub, Stub } from "../fixtures/nginx/stubServer";
import { OpenWebuiStandin, socketioRequirement, startOpenWebuiStandin } from "../helpers/openWebuiStandin";
import { envRecord } from "../helpers/envList";
import { describeWith } from "../helpers/requirements";
import { SSH_HOST_KEY } from "../fixtures/sshHostKey";

const ADMIN = { email: "admin@example.com", password: "admin-password-for-tests" };

/** The gateway's Open WebUI environment for `input`, as KEY -> value. */
function gatewayEnv(input: SettingsInput): { origins: string[]; env: Record<string, string> } {
  const s = resolveSettings(input);
  const origins = openWebuiOrigins({ ...s, ...s.proxy });
  const list = openWebuiEnv({
    publicUrl: s.publicUrl,
    allowedOrigins: origins,
    apiKey: "sk-not-used-by-these-tests-0123456789",
    adminEmail: ADMIN.email,
    adminPassword: ADMIN.password,
  });
  // WEBUI_SECRET_KEY as the image's start.sh exports it from the key file the stack uploads.
  return { origins, env: { ...envRecord(list), WEBUI_SECRET_KEY: "secret-key-for-tests-0123456789abcdef" } };
}

/** A raw websocket handshake: the status nginx answers and the body of a refusal. */
function handshake(port: number, origin: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path: "/ws/socket.io/?EIO=4&transport=websocket",
      agent: false,
      headers: {
        Origin: origin,
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: "" });
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/**
 * Socket.IO as the browser client does it: the engine.io open packet, then a connect with the
 * session token; the stand-in answers the connect and names the signed-in user.
 */
async function socketioSession(port: number, origin: string, token: string): Promise<string[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/socket.io/?EIO=4&transport=websocket`, { headers: { Origin: origin } } as any);
  const received: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no Socket.IO session from ${origin}: ${JSON.stringify(received)}`)), 5000);
      ws.onmessage = (event) => {
        const text = String(event.data);
        received.push(text);
        if (text.startsWith("0{")) {
          ws.send(`40${JSON.stringify({ token })}`);
        }
        if (text.startsWith('42["standin:user"')) {
          clearTimeout(timer);
          resolve();
        }
      };
      ws.onerror = () => {
        clearTimeout(timer);
        reject(new Error(`websocket from ${origin} failed`));
      };
    });
  } finally {
    ws.close();
  }
  return received;
}

describeWith("Open WebUI's websocket through nginx, by origin", [...nginxRequirements(), socketioRequirement()], () => {
  let dns: Dns;
  let litellm: Stub;
  const running: { standin: OpenWebuiStandin; nginx: RunningNginx }[] = [];

  async function gateway(env: Record<string, string>) {
    const standin = await startOpenWebuiStandin(env);
    const nginx = await startNginx(dns, {
      input: { litellm: { host: "litellm", port: litellm.port }, openWebui: { host: "open-webui", port: standin.port } },
    });
    running.push({ standin, nginx });
    return { standin, nginx, port: nginx.listeners.public };
  }

  async function signIn(port: number): Promise<string> {
    const reply = await request(`http://127.0.0.1:${port}`, "/api/v1/auths/signin", { method: "POST", body: JSON.stringify(ADMIN) });
    expect(reply.status).toBe(200);
    return (JSON.parse(reply.body) as { token: string }).token;
  }

  beforeAll(async () => {
    dns = await startDns();
    litellm = await startStub("litellm");
  });

  afterAll(async () => {
    for (const { standin, nginx } of running) {
      await nginx.stop();
      await standin.stop();
    }
    await litellm?.close();
    await dns?.stop();
  });

  test.each<[string, SettingsInput]>([
    ["defaults (loopback bind)", {}],
    [
      "every interface on an ssh:// Docker host",
      { bindAddress: "0.0.0.0", dockerHost: "ssh://root@203.0.113.7", dockerSshHostKey: SSH_HOST_KEY },
    ],
    ["a publicUrl behind a tunnel, every interface", { bindAddress: "0.0.0.0", publicUrl: "https://chat.example.com" }],
  ])("%s: every derived origin gets a Socket.IO session; foreign origins get engineio's 400", async (_name, input) => {
    const { origins, env } = gatewayEnv(input);
    const { standin, port } = await gateway(env);
    expect(origins.length).toBeGreaterThanOrEqual(2);
    const token = await signIn(port);
    for (const origin of origins) {
      const messages = await socketioSession(port, origin, token);
      expect(messages[0]).toMatch(/^0\{"sid":/);
      expect(messages.find((m) => m.startsWith("40"))).toMatch(/^40\{"sid":/);
      expect(messages.at(-1)).toMatch(/^42\["standin:user",\{"id":"[^"]+","role":"admin"\}\]$/);
    }
    const last = new URL(origins.at(-1)!);
    const foreign = ["http://evil.example", `${last.protocol}//${last.hostname}:${Number(last.port || 80) + 1}`, `${origins[0]}/`];
    for (const origin of foreign) {
      const reply = await handshake(port, origin);
      expect({ status: reply.status, body: reply.body }).toEqual({
        status: 400,
        body: JSON.stringify(`${origin} is not an accepted origin.`),
      });
    }
    expect(standin.output()).toContain("http://evil.example is not an accepted origin");
  });

  test("what the gateway set before (CORS_ALLOW_ORIGIN = publicUrl alone) refused the other loopback name", async () => {
    const { env } = gatewayEnv({});
    const { port } = await gateway({ ...env, CORS_ALLOW_ORIGIN: env.WEBUI_URL });
    expect(env.WEBUI_URL).toBe("http://127.0.0.1:8080");
    expect((await handshake(port, "http://127.0.0.1:8080")).status).toBe(101);
    expect(await handshake(port, "http://localhost:8080")).toEqual({
      status: 400,
      body: `"http://localhost:8080 is not an accepted origin."`,
    });
  });
});
