/**
 * runtime/open_webui_config.py, the script the gateway's Open WebUI settings step runs inside the
 * Open WebUI container, executed with python3 against the Open WebUI stand-in with persistent
 * config on (docs/open-webui-facts.md §3, §7): declared settings are enforced through Open WebUI's
 * admin API, everything else the admin set is kept, and the result outlives a restart.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { openWebuiDeclaredSettings, openWebuiEnv } from "../../lib/services";
import { request } from "../fixtures/nginx/harness";
import { newDataDir, OpenWebuiStandin, socketioRequirement, startOpenWebuiStandin } from "../helpers/openWebuiStandin";
import { ROOT } from "../helpers/program";
import { envRecord } from "../helpers/envList";
import { describeWith, requirements } from "../helpers/requirements";

const SCRIPT = path.join(ROOT, "runtime", "open_webui_config.py");
const ADMIN = { email: "admin@example.com", password: "generated-admin-password" };
const LITELLM_URL = "http://litellm:4000/v1";
const KEY = "sk-open-webui-key-one-0123456789abcdef";
const ROTATED = "sk-open-webui-key-two-0123456789abcdef";
const SECRET_KEY = "secret-key-for-tests-0123456789abcdef";

function env(key: string, adminPassword = ADMIN.password): Record<string, string> {
  const list = openWebuiEnv({
    publicUrl: "http://127.0.0.1:8080",
    allowedOrigins: ["http://127.0.0.1:8080"],
    apiKey: key,
    adminEmail: ADMIN.email,
    adminPassword,
  });
  return {
    ...envRecord(list),
    // As the image's start.sh exports it from the key file the stack uploads.
    WEBUI_SECRET_KEY: SECRET_KEY,
    ENABLE_PERSISTENT_CONFIG: "True",
  };
}

function declared(owui: OpenWebuiStandin, key: string, mode: "check" | "apply", overrides: Record<string, unknown> = {}) {
  return {
    baseUrl: owui.url,
    email: ADMIN.email,
    mode,
    openai: { url: LITELLM_URL, key },
    ollama: false,
    admin: openWebuiDeclaredSettings({ publicUrl: "http://127.0.0.1:8080", apiKey: key }).admin,
    ...overrides,
  };
}

/** Runs the script as `docker exec` would in the container: with the container's environment. */
function run(input: unknown, owui: OpenWebuiStandin, containerEnv: Record<string, string> = { WEBUI_SECRET_KEY: SECRET_KEY }) {
  const result = spawnSync("python3", [SCRIPT], {
    input: JSON.stringify(input),
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: "/usr/bin:/bin", DATA_DIR: owui.dataDir, ...containerEnv },
  });
  for (const secret of [KEY, ROTATED, ADMIN.password, SECRET_KEY]) {
    expect(result.stdout + result.stderr).not.toContain(secret);
  }
  return { status: result.status, out: result.stdout ? JSON.parse(result.stdout) : null, err: result.stderr.trim() };
}

async function adminCall(owui: OpenWebuiStandin, method: string, p: string, body?: unknown) {
  const signin = await request(owui.url, "/api/v1/auths/signin", { method: "POST", body: JSON.stringify(ADMIN) });
  const token = JSON.parse(signin.body).token as string;
  const reply = await request(owui.url, p, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return JSON.parse(reply.body);
}

describeWith(
  "Open WebUI settings step (real python3, stand-in Open WebUI)",
  [socketioRequirement(), requirements.bwrap(), requirements.python3()],
  () => {
    const started: OpenWebuiStandin[] = [];
    async function start(e: Record<string, string>, dataDir: string) {
      const owui = await startOpenWebuiStandin(e, dataDir);
      started.push(owui);
      return owui;
    }
    afterAll(async () => {
      for (const owui of started) {
        await owui.stop();
      }
    });

    test("a fresh volume already agrees; admin changes to declared settings are undone, others kept, across restarts", async () => {
      const dataDir = newDataDir();
      let owui = await start(env(KEY), dataDir);
      expect(run(declared(owui, KEY, "check"), owui)).toEqual({
        status: 0,
        out: { inSync: true, changed: [], unchanged: ["openai", "ollama", "admin"] },
        err: "",
      });

      // The admin changes the key, adds a connection of their own, opens signup and sets a JWT expiry.
      const openai = await adminCall(owui, "GET", "/openai/config");
      await adminCall(owui, "POST", "/openai/config/update", {
        ...openai,
        OPENAI_API_BASE_URLS: [LITELLM_URL, "https://api.example.com/v1"],
        OPENAI_API_KEYS: ["sk-typed-in-the-panel-0123456789", "sk-their-own-0123456789"],
      });
      const adminConfig = await adminCall(owui, "GET", "/api/v1/auths/admin/config");
      await adminCall(owui, "POST", "/api/v1/auths/admin/config", {
        ...adminConfig,
        ENABLE_SIGNUP: true,
        JWT_EXPIRES_IN: "1d",
        ENABLE_COMMUNITY_SHARING: true,
      });

      expect(run(declared(owui, KEY, "check"), owui).out).toEqual({ inSync: false, changed: ["openai", "admin"], unchanged: ["ollama"] });
      expect(run(declared(owui, KEY, "apply"), owui).out).toEqual({ inSync: false, changed: ["openai", "admin"], unchanged: ["ollama"] });
      expect(run(declared(owui, KEY, "check"), owui).out.inSync).toBe(true);

      await owui.stop();
      owui = await start(env(KEY), dataDir);
      expect(await adminCall(owui, "GET", "/openai/config")).toEqual({
        ENABLE_OPENAI_API: true,
        OPENAI_API_BASE_URLS: [LITELLM_URL, "https://api.example.com/v1"],
        OPENAI_API_KEYS: [KEY, "sk-their-own-0123456789"],
        OPENAI_API_CONFIGS: {},
      });
      // Community sharing is the stack's (review F15): back off, though the admin turned it on.
      expect(await adminCall(owui, "GET", "/api/v1/auths/admin/config")).toMatchObject({
        ENABLE_SIGNUP: false,
        JWT_EXPIRES_IN: "1d",
        ENABLE_COMMUNITY_SHARING: false,
      });
    });

    test("a rotated key reaches Open WebUI through the step, though persistent config ignores the environment", async () => {
      const dataDir = newDataDir();
      let owui = await start(env(KEY), dataDir);
      await owui.stop();
      owui = await start(env(ROTATED), dataDir);
      expect((await adminCall(owui, "GET", "/openai/config")).OPENAI_API_KEYS).toEqual([KEY]);
      expect(run(declared(owui, ROTATED, "apply"), owui).out.changed).toEqual(["openai"]);
      expect((await adminCall(owui, "GET", "/openai/config")).OPENAI_API_KEYS).toEqual([ROTATED]);
    });

    test("the admin's password does not matter: a kept volume under new stack secrets is still reconciled", async () => {
      // `pulumi destroy` keeps the volume and forgets the secrets: the next `up` declares a new admin
      // password, which Open WebUI ignores (the admin exists), and a rotated key.
      const dataDir = newDataDir();
      let owui = await start(env(KEY), dataDir);
      await owui.stop();
      owui = await start(env(ROTATED, "a-new-generated-password"), dataDir);
      const signin = await request(owui.url, "/api/v1/auths/signin", {
        method: "POST",
        body: JSON.stringify({ email: ADMIN.email, password: "a-new-generated-password" }),
      });
      expect(signin.status).toBe(400);
      expect(run(declared(owui, ROTATED, "apply"), owui).out.changed).toEqual(["openai"]);
      expect((await adminCall(owui, "GET", "/openai/config")).OPENAI_API_KEYS).toEqual([ROTATED]);
    });

    test("failures say why: a token Open WebUI refuses (1), Open WebUI unreachable (2), no admin or no secret key (3)", async () => {
      const owui = await start(env(KEY), newDataDir());
      const refused = run(declared(owui, KEY, "apply"), owui, { WEBUI_SECRET_KEY: "not-the-container-secret-key" });
      expect(refused.status).toBe(1);
      expect(refused.err).toMatch(/^Open WebUI answered 401 to GET \/openai\/config/);
      const unreachable = run({ ...declared(owui, KEY, "check"), baseUrl: "http://127.0.0.1:9" }, owui);
      expect(unreachable.status).toBe(2);
      expect(unreachable.err).toContain("Open WebUI at http://127.0.0.1:9 could not be reached");
      const noSecret = run(declared(owui, KEY, "check"), owui, {});
      expect([noSecret.status, noSecret.err]).toEqual([3, "WEBUI_SECRET_KEY is not set in this container"]);
      // The container's key file (where the stack puts it), read when the environment has none.
      const keyFile = path.join(newDataDir(), ".webui_secret_key");
      fs.writeFileSync(keyFile, `${SECRET_KEY}\n`, { mode: 0o600 });
      const fromFile = run(declared(owui, KEY, "check"), owui, { WEBUI_SECRET_KEY_FILE: keyFile });
      expect([fromFile.status, fromFile.err]).toEqual([0, ""]);
      const noAccounts = run(declared(owui, KEY, "check"), { ...owui, dataDir: newDataDir() });
      expect(noAccounts.status).toBe(3);
      expect(noAccounts.err).toMatch(/^cannot read Open WebUI's accounts in .*webui\.db/);
      expect(run({ mode: "sync" }, owui).status).toBe(3);
    });

    test("a value Open WebUI drops silently is an error, not a false success", async () => {
      const owui = await start(env(KEY), newDataDir());
      const result = run(declared(owui, KEY, "apply", { admin: { DEFAULT_USER_ROLE: "guest" } }), owui);
      expect(result.status).toBe(1);
      expect(result.err).toContain("kept its own value for DEFAULT_USER_ROLE");
    });
  },
);
