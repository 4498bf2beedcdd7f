/**
 * `npm run smoke` against a gateway the real Pulumi CLI deployed on the Docker engine (a small,
 * ephemeral stack on the local test images): every check passes on the fresh gateway; a key whose
 * budget was changed in LiteLLM behind the stack's back, and Open WebUI taken away from nginx (a
 * broken route: nginx answers 502 or 504), each fail it with exit 1 and a row that says what is wrong.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../helpers/program";
import { docker, Workspace } from "./harness";
import { allHealthy, names, removeLeftovers, useLocalImages } from "./gateway";
import { describeE2E } from "./requirements";

const STACK = "smoke";
/** Ports of no other e2e file. */
const HTTP_PORT = 18580;
const ADMIN_PORT = 14580;

describeE2E("npm run smoke against a deployed gateway", () => {
  const workspace = new Workspace("smoke");
  const stack = workspace.stack(STACK);
  let outputs: Record<string, any>;

  /** tools/smoke.ts as `npm run smoke` runs it, in the project directory with its backend. */
  function smoke(...args: string[]): { code: number | null; stdout: string } {
    const result = spawnSync(
      path.join(ROOT, "node_modules", ".bin", "ts-node"),
      ["-T", path.join(ROOT, "tools", "smoke.ts"), "--stack", STACK, ...args],
      {
        cwd: workspace.dir,
        env: { ...process.env, ...workspace.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
        encoding: "utf8",
        timeout: 600_000,
      },
    );
    const output = `${result.stdout}${result.stderr}`;
    for (const secret of [outputs.litellmMasterKey, outputs.openWebuiApiKey, ...Object.values(outputs.apiKeys as Record<string, string>)]) {
      expect(output).not.toContain(secret);
    }
    return { code: result.status, stdout: result.stdout };
  }

  beforeAll(async () => {
    await removeLeftovers(STACK, { volumes: true });
    const config = fs
      .readFileSync(path.join(ROOT, "Pulumi.small.yaml"), "utf8")
      .replace(/httpPort: \d+/, `httpPort: ${HTTP_PORT}`)
      .replace(/adminPort: \d+/, `adminPort: ${ADMIN_PORT}`);
    fs.writeFileSync(path.join(workspace.dir, `Pulumi.${STACK}.yaml`), config);
    await stack.init();
    await useLocalImages(stack);
    await stack.set("ephemeral", "true");
    await stack.up();
    await allHealthy(STACK);
    outputs = await stack.outputs();
  });

  afterAll(async () => {
    await stack.destroy({ allowFailure: true });
    await removeLeftovers(STACK, { volumes: true });
    workspace.remove();
  });

  test("a fresh gateway passes every check, convergence included", () => {
    const { code, stdout } = smoke();
    expect(stdout).toMatch(/^Open WebUI answers +PASS +200/m);
    expect(stdout).toMatch(/^API accepts key agents +PASS +200/m);
    expect(stdout).toMatch(/^management refused publicly +PASS +5 paths: 403 path_not_allowed$/m);
    expect(stdout).toMatch(/^key agents: budget, models, limits +PASS +\$15\/30d; all models$/m);
    expect(stdout).toMatch(/^key open-webui: budget, models, limits +PASS +\$15\/30d; all models$/m);
    expect(stdout).toMatch(/^pulumi preview --expect-no-changes +PASS +no changes$/m);
    expect(stdout).toContain("smoke test passed: 9 passed, 0 failed, 0 skipped");
    expect(code).toBe(0);
  });

  test("a budget changed in LiteLLM fails the key's row (and convergence: the registration would fix it); up restores it", async () => {
    const response = await fetch(`http://127.0.0.1:${ADMIN_PORT}/key/update`, {
      method: "POST",
      headers: { Authorization: `Bearer ${outputs.litellmMasterKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ key: outputs.apiKeys.agents, max_budget: 99 }),
    });
    expect(response.status).toBe(200);
    const { code, stdout } = smoke();
    expect(stdout).toMatch(/^key agents: budget, models, limits +FAIL +max_budget 99, declared 15$/m);
    expect(stdout).toMatch(/^pulumi preview --expect-no-changes +FAIL +changes proposed: update ai-gateway-keys-registration$/m);
    expect(code).toBe(1);
    await stack.up();
    expect(smoke("--skip-convergence").code).toBe(0);
  });

  test("Open WebUI gone from behind nginx (a broken route) fails the Open WebUI check", async () => {
    const openWebui = names(STACK).container("open-webui");
    await docker(["stop", openWebui]);
    try {
      const { code, stdout } = smoke("--skip-convergence");
      expect(stdout).toMatch(
        new RegExp(
          `^Open WebUI answers +FAIL +GET http://127\\.0\\.0\\.1:${HTTP_PORT}/: 50[24] \\((?:502 Bad Gateway|504 Gateway Time-out)\\), expected 200 and a page$`,
          "m",
        ),
      );
      expect(stdout).toMatch(/^API accepts key agents +PASS/m);
      expect(code).toBe(1);
    } finally {
      await docker(["start", openWebui]);
      await allHealthy(STACK);
    }
  });
});
