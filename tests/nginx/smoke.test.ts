/**
 * The smoke test's HTTP checks (lib/smokeChecks.ts) against real servers: the gateway's generated
 * nginx.conf on the real nginx, in front of the LiteLLM stand-in (keys registered through its
 * /key/generate as the key registration does) and the Open WebUI stand-in. Passing on a sound
 * gateway; failing, with a message naming what is wrong, on a broken route, a key whose budget
 * differs from the declared one, and an admin listener it cannot reach. Then `npm run smoke` itself
 * (tools/smoke.ts) with the real Pulumi CLI, on a stack of tests/fixtures/smokeStack whose outputs
 * name these servers: the outputs read through the Automation API, the table, the exit codes, the
 * URL overrides and the convergence check.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderNginxConf } from "../../lib/nginxConf";
import { openWebuiEnv } from "../../lib/services";
import { CheckRow } from "../../lib/smoke";
import { httpChecks, SmokeTarget } from "../../lib/smokeChecks";
import { KeyConsumer, keyRecord, KeyRecord, OPEN_WEBUI_CONSUMER } from "../../lib/virtualKeys";
import { BUDGETS } from "../../profiles";
import { nginxRequirements } from "../fixtures/nginx/harness";
import { Dns, freePort, RunningNginx, startDns, startNginx, testInput } from "../fixtures/nginx/nginxRunner";
import { envRecord } from "../helpers/envList";
import { startStandin, Standin } from "../helpers/litellmStandin";
import { OpenWebuiStandin, socketioRequirement, startOpenWebuiStandin } from "../helpers/openWebuiStandin";
import { hasToolchain, toolchainEnv } from "../e2e/harness";
import { ROOT } from "../helpers/program";
import { describeWith } from "../helpers/requirements";

const MASTER_KEY = "sk-master-key-for-smoke-tests-0123456789abcdef";
const PREFIX = "ai-gateway-smoke";
const CONSUMERS: KeyConsumer[] = [
  { name: OPEN_WEBUI_CONSUMER },
  { name: "ci-agent", models: ["gpt-4o"], maxBudget: 5, budgetDuration: "7d", rpmLimit: 60 },
  { name: "ide", budget: "unlimited" },
];
const KEYS: Record<string, string> = {
  [OPEN_WEBUI_CONSUMER]: "sk-smokeOpenWebuiKey0123456789abcdefghijklmnop",
  "ci-agent": "sk-smokeCiAgentKey0123456789abcdefghijklmnopqr",
  ide: "sk-smokeIdeKey0123456789abcdefghijklmnopqrstuv",
};
const DECLARED: Record<string, KeyRecord> = Object.fromEntries(
  CONSUMERS.map((c) => [c.name, keyRecord(`${PREFIX}-${c.name}`, c, BUDGETS.test)]),
);

function byCheck(rows: readonly CheckRow[]): Record<string, [string, string]> {
  return Object.fromEntries(rows.map((r) => [r.check, [r.result, r.detail]]));
}

/** No row may carry a key or the master key, whatever it reports. */
function expectNoSecret(rows: readonly CheckRow[]): void {
  const text = JSON.stringify(rows);
  for (const secret of [MASTER_KEY, ...Object.values(KEYS)]) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice(3, 20));
  }
}

describeWith("smoke checks against nginx and the stand-ins", [...nginxRequirements(), socketioRequirement()], () => {
  let dns: Dns;
  let litellm: Standin;
  let openWebui: OpenWebuiStandin;
  const started: RunningNginx[] = [];

  const upstreams = () => ({
    litellm: { host: "litellm", port: Number(new URL(litellm.url).port) },
    openWebui: { host: "open-webui", port: openWebui.port },
  });

  /** nginx on the generated configuration, or on it after `breakIt`; the target its listeners give. */
  async function gateway(breakIt?: (config: string) => string): Promise<SmokeTarget> {
    const nginx = await startNginx(dns, {
      input: upstreams(),
      configText: breakIt && ((dir, listeners) => breakIt(renderNginxConf(testInput(dir, listeners, dns, upstreams())))),
    });
    started.push(nginx);
    const publicBase = `http://127.0.0.1:${nginx.listeners.public}`;
    return {
      openWebuiUrl: `${publicBase}/`,
      apiBaseUrl: `${publicBase}/api/litellm/v1`,
      adminOrigin: `http://127.0.0.1:${nginx.listeners.admin}`,
      adminHint: "open the tunnel and pass --admin-url",
      keys: KEYS,
      masterKey: MASTER_KEY,
      declared: DECLARED,
      timeoutMs: 5000,
    };
  }

  async function admin(path: string, body: Record<string, unknown>): Promise<void> {
    const response = await fetch(litellm.url + path, {
      method: "POST",
      headers: { Authorization: `Bearer ${MASTER_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    expect([path, response.status]).toEqual([path, 200]);
  }

  beforeAll(async () => {
    dns = await startDns();
    litellm = await startStandin(MASTER_KEY);
    const env = openWebuiEnv({
      publicUrl: "http://127.0.0.1:8080",
      allowedOrigins: ["http://127.0.0.1:8080"],
      apiKey: KEYS[OPEN_WEBUI_CONSUMER],
      adminEmail: "admin@example.com",
      adminPassword: "admin-password-for-tests",
    });
    openWebui = await startOpenWebuiStandin({ ...envRecord(env), WEBUI_SECRET_KEY: "secret-key-for-tests-0123456789abcdef" });
  }, 60_000);

  beforeEach(async () => {
    // The keys as the key registration leaves them: every declared key with its declared record.
    await admin("/__standin/state", { reset: true });
    for (const [name, record] of Object.entries(DECLARED)) {
      const { alias, ...fields } = record;
      await admin("/key/generate", { key: KEYS[name], key_alias: alias, ...fields });
    }
  });

  afterAll(async () => {
    await Promise.all(started.map((n) => n.stop()));
    await Promise.all([litellm?.stop(), openWebui?.stop(), dns?.stop()]);
  });

  test("a sound gateway passes every check, each key's budget and models read through the admin listener", async () => {
    const rows = await httpChecks(await gateway());
    expect(rows.filter((r) => r.result !== "PASS")).toEqual([]);
    expect(byCheck(rows)).toEqual({
      "Open WebUI answers": ["PASS", '200, "Open WebUI stand-in"; /health {"status": true}'],
      "API accepts key open-webui": ["PASS", "200, 2 models"],
      "API accepts key ci-agent": ["PASS", "200, 1 model"],
      "API accepts key ide": ["PASS", "200, 2 models"],
      "API refuses a wrong key": ["PASS", "401 (auth_error)"],
      "API refuses no key": ["PASS", "401 (auth_error)"],
      "management refused publicly": ["PASS", "5 paths: 403 path_not_allowed"],
      "key open-webui: budget, models, limits": ["PASS", "$15/30d; all models"],
      "key ci-agent: budget, models, limits": ["PASS", "$5/7d; gpt-4o; rpm 60"],
      "key ide: budget, models, limits": ["PASS", "$1000/30d; all models"],
    });
    // /key/info was asked by the key's hash, never the key itself (LiteLLM's advice: URLs are logged).
    const targets = (await litellm.targets()).filter((t) => t.startsWith("/key/info"));
    expect(targets).toHaveLength(3);
    expect(targets.join("\n")).not.toContain("sk-");
    expectNoSecret(rows);
  });

  test("a key whose budget differs from the declared one fails, naming the field and both values", async () => {
    await admin("/key/update", { key: KEYS["ci-agent"], max_budget: 50, models: ["gpt-4o", "claude-sonnet-4-5"] });
    const rows = byCheck(await httpChecks(await gateway()));
    expect(rows["key ci-agent: budget, models, limits"]).toEqual([
      "FAIL",
      'models ["gpt-4o","claude-sonnet-4-5"], declared ["gpt-4o"]; max_budget 50, declared 5',
    ]);
    expect(rows["key ide: budget, models, limits"][0]).toBe("PASS");
  });

  test("a key missing from LiteLLM fails both at the API and in its record", async () => {
    await admin("/key/delete", { keys: [KEYS.ide] });
    const rows = byCheck(await httpChecks(await gateway()));
    expect(rows["API accepts key ide"]).toEqual([
      "FAIL",
      expect.stringMatching(/\/api\/litellm\/v1\/models: 401 \(auth_error\), expected 200/),
    ]);
    expect(rows["key ide: budget, models, limits"]).toEqual(["FAIL", 'status "deleted", not "active"']);
  });

  test("a broken route (management no longer refused on the public listener) fails with what each path answered", async () => {
    // The public listener's catch-all refusal renamed away: /api/litellm/... falls through to Open WebUI.
    const target = await gateway((config) => {
      expect(config).toContain("location /api/litellm/ {");
      return config.replace("location /api/litellm/ {", "location /api/litellm-unused/ {");
    });
    const rows = await httpChecks(target);
    const [result, detail] = byCheck(rows)["management refused publicly"];
    expect(result).toBe("FAIL");
    expect(detail).toMatch(/^expected the gateway's 403 path_not_allowed; POST \/api\/litellm\/key\/generate: \d{3}/);
    expect(detail).toMatch(/GET \/api\/litellm\/ui\/: \d{3}/);
    expect(rows.filter((r) => r.result === "FAIL").map((r) => r.check)).toEqual(["management refused publicly"]);
    expectNoSecret(rows);
  });

  test("a broken API route (sent to Open WebUI instead of LiteLLM) fails every API check", async () => {
    const target = await gateway((config) =>
      config.replace(
        /(location ~ \^\/api\/litellm\/v1\/\(\?:[^{]*\{[\s\S]*?)proxy_pass http:\/\/litellm;/,
        "$1proxy_pass http://open_webui;",
      ),
    );
    const rows = byCheck(await httpChecks(target));
    expect(rows["API accepts key ci-agent"][0]).toBe("FAIL");
    expect(rows["API refuses a wrong key"]).toEqual(["FAIL", expect.stringContaining("expected 401")]);
    expect(rows["key ci-agent: budget, models, limits"][0]).toBe("PASS");
  });

  test("Open WebUI's route sent elsewhere (LiteLLM) fails the Open WebUI check, with what answered", async () => {
    const target = await gateway((config) => {
      const broken = config.replace(/(location \/ \{\s*)proxy_pass http:\/\/open_webui;/, "$1proxy_pass http://litellm;");
      expect(broken).not.toBe(config);
      return broken;
    });
    const rows = byCheck(await httpChecks(target));
    expect(rows["Open WebUI answers"]).toEqual([
      "FAIL",
      `GET ${target.openWebuiUrl}: 200 ({"service": "litellm", "hostname": "${os.hostname()}", "path": "/"}), expected 200 and a page`,
    ]);
    expect(rows["API accepts key ide"][0]).toBe("PASS");
  });

  test("an unreachable admin listener fails every key's record check with the tunnel hint, once per key", async () => {
    const target = { ...(await gateway()), adminOrigin: `http://127.0.0.1:${await freePort()}` };
    const started = Date.now();
    const rows = byCheck(await httpChecks(target));
    expect(Date.now() - started).toBeLessThan(5000);
    for (const name of Object.keys(DECLARED)) {
      expect(rows[`key ${name}: budget, models, limits`]).toEqual([
        "FAIL",
        `admin listener ${target.adminOrigin} unreachable (ECONNREFUSED); open the tunnel and pass --admin-url`,
      ]);
    }
    expect(rows["Open WebUI answers"][0]).toBe("PASS");
  });
  describeWith(
    "npm run smoke with the real Pulumi CLI",
    [{ name: "the Pulumi toolchain", met: hasToolchain(), hint: "run scripts/pulumi-toolchain.sh" }],
    () => {
      const STACK = "smoke-ci";
      let project: string;
      let env: NodeJS.ProcessEnv;
      let target: SmokeTarget;

      function pulumi(...args: string[]): string {
        const result = spawnSync("pulumi", [...args, "--non-interactive"], { cwd: project, env, encoding: "utf8", timeout: 300_000 });
        if (result.status !== 0) {
          throw new Error(`pulumi ${args[0]} failed: ${result.stderr}${result.stdout}`);
        }
        return result.stdout;
      }

      /** tools/smoke.ts as `npm run smoke` runs it (ts-node -T), in the project directory. */
      function smoke(...args: string[]): { code: number | null; stdout: string; stderr: string } {
        const result = spawnSync(
          path.join(ROOT, "node_modules", ".bin", "ts-node"),
          ["-T", path.join(ROOT, "tools", "smoke.ts"), ...args],
          {
            cwd: project,
            env: { ...env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
            encoding: "utf8",
            timeout: 300_000,
          },
        );
        const output = `${result.stdout}${result.stderr}`;
        for (const secret of [MASTER_KEY, ...Object.values(KEYS)]) {
          expect(output).not.toContain(secret);
        }
        return { code: result.status, stdout: result.stdout, stderr: result.stderr };
      }

      beforeAll(async () => {
        target = await gateway();
        project = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-smoke-stack-"));
        for (const file of ["Pulumi.yaml", "index.js"]) {
          fs.copyFileSync(path.join(ROOT, "tests", "fixtures", "smokeStack", file), path.join(project, file));
        }
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
        fs.mkdirSync(path.join(project, "state"));
        const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_")));
        env = {
          ...inherited,
          ...toolchainEnv(),
          PULUMI_BACKEND_URL: `file://${path.join(project, "state")}`,
          PULUMI_CONFIG_PASSPHRASE: "passphrase-of-the-smoke-test-stack",
        };
        pulumi("stack", "init", STACK);
        const { [OPEN_WEBUI_CONSUMER]: openWebuiApiKey, ...apiKeys } = KEYS;
        const plain = {
          openWebuiUrl: target.openWebuiUrl,
          apiBaseUrl: target.apiBaseUrl,
          adminUiUrl: `${target.adminOrigin}/ui`,
          declaredKeys: DECLARED,
        };
        pulumi("config", "set", "plain", JSON.stringify(plain));
        pulumi("config", "set", "--secret", "secret", JSON.stringify({ openWebuiApiKey, apiKeys, litellmMasterKey: MASTER_KEY }));
        pulumi("config", "set", "saltLength", "8");
        pulumi("up", "--yes", "--skip-preview");
      }, 300_000);

      afterAll(() => {
        if (project) fs.rmSync(project, { recursive: true, force: true });
      });

      test("a sound gateway: every check passes, the stack converges, exit 0, a table without secrets", () => {
        const { code, stdout } = smoke("--stack", STACK);
        expect(stdout).toContain(`smoke test of stack ${STACK}`);
        expect(stdout).toMatch(/^key ci-agent: budget, models, limits +PASS +\$5\/7d; gpt-4o; rpm 60$/m);
        expect(stdout).toMatch(/^pulumi preview --expect-no-changes +PASS +no changes$/m);
        expect(stdout).not.toMatch(/ (FAIL|SKIP) /);
        expect(stdout).toContain("smoke test passed: 11 passed, 0 failed, 0 skipped");
        expect(code).toBe(0);
      });

      test("--public-url and --admin-url are where the checks go (a tunnel's ports), and say so when nothing answers", async () => {
        const closed = `http://127.0.0.1:${await freePort()}`;
        const { code, stdout } = smoke("--stack", STACK, "--public-url", closed, "--admin-url", closed, "--skip-convergence");
        expect(stdout).toMatch(new RegExp(`^Open WebUI answers +FAIL +GET ${closed}/: ECONNREFUSED$`, "m"));
        expect(stdout).toMatch(
          new RegExp(`^key ide: budget, models, limits +FAIL +admin listener ${closed} unreachable \\(ECONNREFUSED\\)$`, "m"),
        );
        expect(stdout).toMatch(/^pulumi preview --expect-no-changes +SKIP +--skip-convergence$/m);
        expect(code).toBe(1);
      });

      test("a stack whose preview proposes changes fails the convergence check, naming the resource", () => {
        pulumi("config", "set", "saltLength", "9");
        try {
          const { code, stdout } = smoke("--stack", STACK);
          expect(stdout).toMatch(/^pulumi preview --expect-no-changes +FAIL +changes proposed: replace salt$/m);
          expect(stdout).toContain("smoke test FAILED: 10 passed, 1 failed, 0 skipped");
          expect(code).toBe(1);
        } finally {
          pulumi("config", "set", "saltLength", "8");
        }
      });

      test("bad usage exits 2 and an unknown stack 1, each with one line", () => {
        expect(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.smoke).toBe("ts-node -T tools/smoke.ts");
        const usage = smoke("--stack", STACK, "--public-url", "localhost:8080");
        expect(usage.code).toBe(2);
        expect(usage.stdout).toBe("");
        expect(usage.stderr).toMatch(
          /^smoke: --public-url "localhost:8080": must be an origin, .*usage: npm run smoke -- --stack NAME .*\n$/,
        );
        const unknown = smoke("--stack", "no-such-stack");
        expect(unknown.code).toBe(1);
        expect(unknown.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^smoke: .*no-such-stack/)]);
      });
    },
  );
});
