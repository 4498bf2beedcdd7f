/**
 * The Open WebUI stand-in held to Open WebUI 0.11.4 (docs/open-webui-facts.md): what it does with
 * the environment the gateway sets, run from the test rootfs as the image runs it, and its
 * connection to LiteLLM exercised against the LiteLLM stand-in with a registered virtual key.
 */
import { openWebuiEnv } from "../../lib/services";
import { request } from "../fixtures/nginx/harness";
import { Standin, startStandin } from "../helpers/litellmStandin";
import { failedStart, newDataDir, OpenWebuiStandin, socketioRequirement, startOpenWebuiStandin } from "../helpers/openWebuiStandin";
import { envRecord } from "../helpers/envList";
import { describeWith, requirements } from "../helpers/requirements";

const ADMIN = { email: "Admin@Example.com", password: "first-admin-password" };
const OPEN_WEBUI_KEY = "sk-open-webui-virtual-key-0123456789abcdef";

/** What lib/services.ts gives the container, as KEY -> value, pointed at `litellmUrl`. */
function gatewayEnv(
  litellmUrl: string,
  overrides: Record<string, string> = {},
  publicUrl = "http://127.0.0.1:8080",
): Record<string, string> {
  const list = openWebuiEnv({
    publicUrl,
    allowedOrigins: [publicUrl, "http://localhost:8080"],
    apiKey: OPEN_WEBUI_KEY,
    adminEmail: ADMIN.email,
    adminPassword: ADMIN.password,
  });
  const env = envRecord(list);
  // WEBUI_SECRET_KEY as the image's start.sh exports it from the key file the stack uploads.
  return { ...env, WEBUI_SECRET_KEY: "secret-key-for-tests-0123456789abcdef", OPENAI_API_BASE_URL: `${litellmUrl}/v1`, ...overrides };
}

async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const reply = await request(base, path, {
    method,
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: reply.status, body: reply.body ? JSON.parse(reply.body) : null };
}

async function signIn(owui: OpenWebuiStandin, email: string, password: string) {
  return call(owui.url, "POST", "/api/v1/auths/signin", { email, password });
}

describeWith(
  "Open WebUI stand-in against 0.11.4's behaviour",
  [socketioRequirement(), requirements.bwrap(), requirements.python3()],
  () => {
    let litellm: Standin;
    const started: OpenWebuiStandin[] = [];
    async function start(env: Record<string, string>, dataDir?: string) {
      const owui = await startOpenWebuiStandin(env, dataDir);
      started.push(owui);
      return owui;
    }

    beforeAll(async () => {
      litellm = await startStandin(undefined, { env: { MODELS: "gpt-4o-mini,claude-haiku" } });
      const created = await fetch(`${litellm.url}/key/generate`, {
        method: "POST",
        headers: { Authorization: `Bearer ${litellm.masterKey}` },
        body: JSON.stringify({ key: OPEN_WEBUI_KEY, key_alias: "gw-open-webui" }),
      });
      expect(created.status).toBe(200);
    });
    afterAll(async () => {
      for (const owui of started) {
        await owui.stop();
      }
      await litellm?.stop();
    });

    test("refuses to start without WEBUI_SECRET_KEY, as env.py does", () => {
      const env = gatewayEnv("http://127.0.0.1:9");
      delete env.WEBUI_SECRET_KEY;
      const result = failedStart(env);
      expect(result.status).toBe(1);
      expect(result.output).toContain("WEBUI_SECRET_KEY is not set. It is a hard requirement when authentication is enabled.");
    });

    test("refuses a CORS_ALLOW_ORIGIN entry that is not an http(s) URL with a host, as config.py:validate_cors_origin does", () => {
      const bad = failedStart(gatewayEnv("http://127.0.0.1:9", { CORS_ALLOW_ORIGIN: "http://127.0.0.1:8080;ftp://files.example" }));
      expect(bad.status).not.toBe(0);
      expect(bad.output).toContain("Invalid scheme in CORS_ALLOW_ORIGIN: 'ftp://files.example'");
      const hostless = failedStart(gatewayEnv("http://127.0.0.1:9", { CORS_ALLOW_ORIGIN: "http://127.0.0.1:8080;localhost:8080" }));
      expect(hostless.output).toMatch(/Invalid (scheme|URL structure) in CORS_ALLOW_ORIGIN: 'localhost:8080'/);
    });

    test("creates the admin from WEBUI_ADMIN_* only on an empty volume, and signup stays closed", async () => {
      const dataDir = newDataDir();
      const first = await start(gatewayEnv(litellm.url), dataDir);
      const session = await signIn(first, ADMIN.email.toLowerCase(), ADMIN.password);
      expect(session.status).toBe(200);
      expect(session.body).toMatchObject({ email: "admin@example.com", role: "admin", name: "Admin", token_type: "Bearer" });
      const signup = await call(first.url, "POST", "/api/v1/auths/signup", { email: "visitor@example.com", password: "x", name: "V" });
      expect(signup.status).toBe(403);
      await first.stop();

      // A later start with other admin credentials on the same volume creates nobody.
      const again = await start(gatewayEnv(litellm.url, { WEBUI_ADMIN_PASSWORD: "second-password" }), dataDir);
      expect((await signIn(again, ADMIN.email, ADMIN.password)).status).toBe(200);
      expect(await signIn(again, ADMIN.email, "second-password")).toEqual({
        status: 400,
        body: { detail: "The email or password provided is incorrect. Please check for typos and try logging in again." },
      });
    });

    // Review F15, on the environment lib/services.ts gives the container.
    test.each([
      ["https://ai.example.com", true],
      ["http://127.0.0.1:8080", false],
    ])("publicUrl %s: the session token cookie is Secure: %s", async (publicUrl, secure) => {
      const owui = await start(gatewayEnv(litellm.url, {}, publicUrl));
      const response = await fetch(`${owui.url}/api/v1/auths/signin`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
      });
      expect(response.status).toBe(200);
      const cookie = response.headers.get("set-cookie") ?? "";
      expect(cookie).toMatch(/^token=[^;]+;.*HttpOnly/i);
      expect(/;\s*Secure(;|$)/i.test(cookie)).toBe(secure);
    });

    test("the OpenAI passthrough proxy refuses every verified user, and community sharing starts off", async () => {
      const owui = await start(gatewayEnv(litellm.url));
      const admin = (await signIn(owui, ADMIN.email, ADMIN.password)).body.token;
      for (const path of ["/openai/models", "/openai/..%2Fkey%2Finfo", "/openai/v1/chat/completions"]) {
        expect(await call(owui.url, "GET", path, undefined, admin)).toEqual({
          status: 403,
          body: { detail: "Direct API passthrough is disabled. Set ENABLE_OPENAI_API_PASSTHROUGH=True to enable." },
        });
      }
      expect((await call(owui.url, "GET", "/openai/models")).status).toBe(401);
      // The settings routes under /openai/ are not the passthrough's.
      expect((await call(owui.url, "GET", "/openai/config", undefined, admin)).status).toBe(200);
      expect((await call(owui.url, "GET", "/api/v1/auths/admin/config", undefined, admin)).body.ENABLE_COMMUNITY_SHARING).toBe(false);
      // The control: upstream's defaults (passthrough enabled here only to show the switch is read).
      const open = await start(gatewayEnv(litellm.url, { ENABLE_OPENAI_API_PASSTHROUGH: "True", ENABLE_COMMUNITY_SHARING: "True" }));
      const token = (await signIn(open, ADMIN.email, ADMIN.password)).body.token;
      expect((await call(open.url, "GET", "/openai/models", undefined, token)).status).not.toBe(403);
      expect((await call(open.url, "GET", "/api/v1/auths/admin/config", undefined, token)).body.ENABLE_COMMUNITY_SHARING).toBe(true);
    });

    test("ENABLE_SIGNUP=True with no admin from the environment: the first account becomes admin and closes signup", async () => {
      const env = gatewayEnv(litellm.url, { ENABLE_SIGNUP: "True" });
      delete env.WEBUI_ADMIN_EMAIL;
      delete env.WEBUI_ADMIN_PASSWORD;
      const owui = await start(env);
      const first = await call(owui.url, "POST", "/api/v1/auths/signup", { email: "first@example.com", password: "p", name: "F" });
      expect(first.body).toMatchObject({ role: "admin" });
      const second = await call(owui.url, "POST", "/api/v1/auths/signup", { email: "second@example.com", password: "p", name: "S" });
      expect(second.status).toBe(403);
    });

    test.each([
      ["True", "the admin's change survives a restart; the environment's new value is ignored", "sk-changed-in-the-admin-panel-0123456789"],
      ["False", "the environment wins on every start; the admin's change is gone", "sk-rotated-by-the-environment-0123456789"],
    ])("ENABLE_PERSISTENT_CONFIG=%s: %s", async (persistent, _what, expected) => {
      const dataDir = newDataDir();
      const env = gatewayEnv(litellm.url, { ENABLE_PERSISTENT_CONFIG: persistent });
      const owui = await start(env, dataDir);
      const token = (await signIn(owui, ADMIN.email, ADMIN.password)).body.token;
      const config = (await call(owui.url, "GET", "/openai/config", undefined, token)).body;
      expect(config).toEqual({
        ENABLE_OPENAI_API: true,
        OPENAI_API_BASE_URLS: [`${litellm.url}/v1`],
        OPENAI_API_KEYS: [OPEN_WEBUI_KEY],
        OPENAI_API_CONFIGS: {},
      });
      const update = await call(
        owui.url,
        "POST",
        "/openai/config/update",
        { ...config, OPENAI_API_KEYS: ["sk-changed-in-the-admin-panel-0123456789", "extra"] },
        token,
      );
      expect(update.body.OPENAI_API_KEYS).toEqual(["sk-changed-in-the-admin-panel-0123456789"]);
      await owui.stop();

      const restarted = await start({ ...env, OPENAI_API_KEY: "sk-rotated-by-the-environment-0123456789" }, dataDir);
      const token2 = (await signIn(restarted, ADMIN.email, ADMIN.password)).body.token;
      expect((await call(restarted.url, "GET", "/openai/config", undefined, token2)).body.OPENAI_API_KEYS).toEqual([expected]);
    });

    test("a chat goes to LiteLLM at OPENAI_API_BASE_URL with OPENAI_API_KEY; a user without access sees no model", async () => {
      const owui = await start(gatewayEnv(litellm.url));
      const admin = (await signIn(owui, ADMIN.email, ADMIN.password)).body.token;
      const models = await call(owui.url, "GET", "/api/models", undefined, admin);
      expect(models.body.data.map((m: { id: string }) => m.id)).toEqual(["gpt-4o-mini", "claude-haiku"]);
      await litellm.control({ clearCalls: true });
      const chat = await call(
        owui.url,
        "POST",
        "/api/chat/completions",
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
        admin,
      );
      // LiteLLM's completion comes back through Open WebUI.
      expect(chat.status).toBe(200);
      expect(chat.body).toMatchObject({ object: "chat.completion", model: "gpt-4o-mini" });
      expect(await litellm.calls()).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ method: "GET", path: "/v1/models" }),
          expect.objectContaining({ method: "POST", path: "/v1/chat/completions" }),
        ]),
      );
      const unknown = await call(owui.url, "POST", "/api/chat/completions", { model: "gpt-5", messages: [] }, admin);
      expect(unknown).toEqual({ status: 400, body: { detail: "Model not found" } });
    });

    test("with a key LiteLLM does not know, no model is listed and chats are 'Model not found'", async () => {
      const owui = await start(gatewayEnv(litellm.url, { OPENAI_API_KEY: "sk-not-registered-0123456789abcdef" }));
      const admin = (await signIn(owui, ADMIN.email, ADMIN.password)).body.token;
      expect((await call(owui.url, "GET", "/api/models", undefined, admin)).body.data).toEqual([]);
      expect((await call(owui.url, "POST", "/api/chat/completions", { model: "gpt-4o-mini", messages: [] }, admin)).status).toBe(400);
    });

    test.each([
      ["False", []],
      ["True", ["gpt-4o-mini", "claude-haiku"]],
    ])("BYPASS_MODEL_ACCESS_CONTROL=%s: a role-user account sees %j", async (bypass, expected) => {
      const owui = await start(gatewayEnv(litellm.url, { BYPASS_MODEL_ACCESS_CONTROL: bypass }));
      // The headless admin turned signup off; the admin opens it, as in the admin panel.
      const admin = (await signIn(owui, ADMIN.email, ADMIN.password)).body.token;
      const config = (await call(owui.url, "GET", "/api/v1/auths/admin/config", undefined, admin)).body;
      expect(config).toMatchObject({ ENABLE_SIGNUP: false, DEFAULT_USER_ROLE: "pending", WEBUI_URL: "http://127.0.0.1:8080" });
      const opened = await call(
        owui.url,
        "POST",
        "/api/v1/auths/admin/config",
        { ...config, ENABLE_SIGNUP: true, DEFAULT_USER_ROLE: "user" },
        admin,
      );
      expect(opened.body).toMatchObject({ ENABLE_SIGNUP: true, DEFAULT_USER_ROLE: "user" });
      const user = await call(owui.url, "POST", "/api/v1/auths/signup", { email: "user@example.com", password: "p", name: "U" });
      expect(user.body.role).toBe("user");
      const models = await call(owui.url, "GET", "/api/models", undefined, user.body.token);
      expect(models.body.data.map((m: { id: string }) => m.id)).toEqual(expected);
    });
  },
);
