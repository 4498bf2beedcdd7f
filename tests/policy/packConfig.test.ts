/**
 * The check a --policy-pack-config file gets before a preview uses it (policy/packConfig.ts), and
 * its command line (`npm run policy:check-config`, policy/checkConfig.ts) run for real: one line
 * naming the entry, the value and what is allowed, for what the CLI refuses unclearly (an unknown
 * level) or accepts silently (an unknown policy, tests/e2e/policy.test.ts).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { checkPolicyConfig } from "../../policy/packConfig";
import { POLICY_NAMES } from "../../policy/policies";
import { ROOT } from "../helpers/program";

const execFileAsync = promisify(execFile);

test("the shipped policy/config.json passes", () => {
  const config = JSON.parse(fs.readFileSync(path.join(ROOT, "policy", "config.json"), "utf8"));
  expect(checkPolicyConfig(config)).toEqual(["host-ports-reverse-proxy-only"]);
});

test.each([
  [
    "every level by name",
    { "images-pinned": "advisory", "container-healthcheck": "mandatory", "convergence-traps": "disabled", "no-plain-secrets": "remediate" },
  ],
  ["all at once", { all: "advisory" }],
  ["a level and a setting", { "host-ports-reverse-proxy-only": { enforcementLevel: "mandatory", adminBindAllowList: ["10.8.0.1"] } }],
  ["nothing", {}],
])("accepted: %s", (_label, config) => {
  expect(checkPolicyConfig(config)).toEqual(Object.keys(config));
});

test.each([
  [
    "an unknown level",
    { "container-healthcheck": "strict" },
    'Invalid policy pack config container-healthcheck = "strict": must be one of advisory, mandatory, remediate, disabled',
  ],
  [
    "an unknown level in an object",
    { "images-pinned": { enforcementLevel: "warn" } },
    'Invalid policy pack config images-pinned.enforcementLevel = "warn": must be one of advisory, mandatory, remediate, disabled',
  ],
  [
    "an unknown policy",
    { "container-healtcheck": "disabled" },
    `Invalid policy pack config container-healtcheck = "disabled": the pack has no such policy; its policies are ${POLICY_NAMES.join(", ")} (or all)`,
  ],
  [
    "an unknown setting",
    { "images-pinned": { allowLatest: true } },
    "Invalid policy pack config images-pinned.allowLatest = true: images-pinned has no such setting; it takes enforcementLevel",
  ],
  [
    "an allow-list entry that is not an address",
    { "host-ports-reverse-proxy-only": { adminBindAllowList: ["vpn.example.com"] } },
    'Invalid policy pack config host-ports-reverse-proxy-only.adminBindAllowList = ["vpn.example.com"]: must be a list of IPv4 addresses, e.g. ["10.8.0.1"]',
  ],
  ["a list", ["images-pinned"], 'Invalid policy pack config (the file) = ["images-pinned"]: must be a JSON object of policy names'],
  [
    "a number as a level",
    { "images-pinned": 1 },
    "Invalid policy pack config images-pinned = 1: must be one of advisory, mandatory, remediate, disabled",
  ],
])("refused: %s", (_label, config, message) => {
  expect(() => checkPolicyConfig(config)).toThrow(message);
});

describe("npm run policy:check-config", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-config-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function check(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await execFileAsync("npm", ["run", "--silent", "policy:check-config", "--", ...args], { cwd: ROOT });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
    }
  }

  test("the shipped config: exit 0 and what it configures", async () => {
    const config = path.join(ROOT, "policy", "config.json");
    expect(await check(config)).toEqual({ code: 0, stdout: `${config}: ok (host-ports-reverse-proxy-only)\n`, stderr: "" });
  });

  test("an unknown level: exit 1 and one line on stderr", async () => {
    const config = path.join(dir, "strict.json");
    fs.writeFileSync(config, JSON.stringify({ "container-healthcheck": "strict" }));
    const result = await check(config);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `${config}: Invalid policy pack config container-healthcheck = "strict": must be one of advisory, mandatory, remediate, disabled\n`,
    );
  });

  test("no file, or not JSON: exit 2", async () => {
    expect((await check()).code).toBe(2);
    const config = path.join(dir, "broken.json");
    fs.writeFileSync(config, "{ not json");
    const result = await check(config);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/broken.json: not a readable JSON file/);
  });
});
