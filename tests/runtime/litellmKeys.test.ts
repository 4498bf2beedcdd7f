/**
 * runtime/litellm_keys.py, the script the key registration runs inside the LiteLLM container,
 * executed for real with python3 against a stand-in of LiteLLM's key API
 * (tests/fixtures/docker/litellm_standin.py lists the behaviours it reproduces).
 */
import { spawnSync } from "child_process";
import * as path from "path";
import type { DeclaredKey } from "../../components/keyRegistration";
import { AGENT_KEY, OPEN_WEBUI_KEY } from "../fixtures/declaredKeys";
import { ROOT } from "../helpers/program";
import { Standin, startStandin } from "../helpers/litellmStandin";
import { describeWith, requirements } from "../helpers/requirements";

const SCRIPT = path.join(ROOT, "runtime", "litellm_keys.py");

const openWebui = OPEN_WEBUI_KEY;
const agent = AGENT_KEY;
const ALL_KEYS = [openWebui.key, agent.key];

describeWith("LiteLLM key reconciliation (real python3, stand-in LiteLLM)", [requirements.python3()], () => {
  let litellm: Standin;

  function run(spec: {
    mode?: string;
    keys: DeclaredKey[];
    remove?: { alias: string; key: string }[];
    masterKey?: string;
    baseUrl?: string;
  }) {
    const result = spawnSync("python3", [SCRIPT], {
      input: JSON.stringify({ baseUrl: litellm.url, masterKey: litellm.masterKey, mode: "apply", ...spec }),
      encoding: "utf8",
      timeout: 60000,
    });
    for (const key of [...ALL_KEYS, litellm.masterKey]) {
      expect(result.stdout).not.toContain(key);
      expect(result.stderr).not.toContain(key);
    }
    return { status: result.status, stdout: result.stdout ? JSON.parse(result.stdout || "null") : null, stderr: result.stderr.trim() };
  }

  // POST /v2/key/info is a read (a POST only to keep the key out of the URL).
  const mutatingCalls = async () => (await litellm.calls()).filter((c) => c.method === "POST" && c.path !== "/v2/key/info");

  beforeAll(async () => {
    litellm = await startStandin();
  });
  afterAll(() => litellm?.stop());

  test("first run creates every declared key with its budget and limits", async () => {
    const result = run({ keys: [openWebui, agent] });
    expect(result.status).toBe(0);
    expect(result.stdout).toEqual({ created: ["gw-open-webui", "gw-ci-agent"], updated: [], deleted: [], unchanged: [], inSync: false });
    const info = (await litellm.info(agent.key)).body.info;
    expect(info).toMatchObject({
      key_alias: "gw-ci-agent",
      models: ["gpt-4o"],
      max_budget: 5,
      budget_duration: "7d",
      rpm_limit: 60,
      tpm_limit: 100000,
    });
    expect((await litellm.info(openWebui.key)).body.info).toMatchObject({ max_budget: 15, budget_duration: "30d" });
  });

  test("a re-run changes nothing: it only asks /v2/key/info", async () => {
    await litellm.control({ clearCalls: true });
    const result = run({ keys: [openWebui, agent] });
    expect(result.status).toBe(0);
    expect(result.stdout).toEqual({ created: [], updated: [], deleted: [], unchanged: ["gw-open-webui", "gw-ci-agent"], inSync: true });
    expect(await mutatingCalls()).toEqual([]);
    expect((await litellm.calls()).map((c) => c.path)).toEqual(["/v2/key/info", "/v2/key/info"]);
  });

  test("check mode reports agreement without changing anything", async () => {
    await litellm.control({ clearCalls: true });
    expect(run({ mode: "check", keys: [openWebui, agent] }).stdout.inSync).toBe(true);
    expect(run({ mode: "check", keys: [{ ...openWebui, max_budget: 200 }, agent] }).stdout).toMatchObject({
      inSync: false,
      updated: ["gw-open-webui"],
    });
    expect(await mutatingCalls()).toEqual([]);
    expect((await litellm.info(openWebui.key)).body.info.max_budget).toBe(15);
  });

  test("a budget change updates the key in place and keeps what it has spent", async () => {
    await litellm.control({ spend: { "gw-open-webui": 3.25 }, clearCalls: true });
    const result = run({ keys: [{ ...openWebui, max_budget: 200 }, agent] });
    expect(result.stdout).toMatchObject({ updated: ["gw-open-webui"], unchanged: ["gw-ci-agent"], inSync: false });
    const info = (await litellm.info(openWebui.key)).body.info;
    expect(info).toMatchObject({ max_budget: 200, spend: 3.25, key_alias: "gw-open-webui" });
    // The alias is not re-sent (LiteLLM can refuse a key's own alias as a duplicate).
    expect(await mutatingCalls()).toEqual([{ method: "POST", path: "/key/update" }]);
  });

  test("a key removed from config is deleted", async () => {
    const result = run({ keys: [{ ...openWebui, max_budget: 200 }], remove: [{ alias: agent.alias, key: agent.key }] });
    expect(result.stdout).toMatchObject({ deleted: ["gw-ci-agent"], unchanged: ["gw-open-webui"] });
    // LiteLLM keeps deleted keys in an archive that GET /key/info still shows, marked deleted.
    expect(await litellm.info(agent.key)).toMatchObject({ status: 200, body: { info: { status: "deleted" } } });
    // Deleting again is a no-op.
    expect(run({ keys: [{ ...openWebui, max_budget: 200 }], remove: [{ alias: agent.alias, key: agent.key }] }).stdout.inSync).toBe(true);
  });

  test("a rotated key value replaces the old key under the same alias", async () => {
    const rotated = { ...agent, key: "sk-agentROTATED0123456789abcdefghijklmnopqrst" };
    run({ keys: [{ ...openWebui, max_budget: 200 }, agent] });
    const result = run({ keys: [{ ...openWebui, max_budget: 200 }, rotated], remove: [{ alias: agent.alias, key: agent.key }] });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatchObject({ deleted: ["gw-ci-agent"], created: ["gw-ci-agent"] });
    expect((await litellm.info(agent.key)).body.info.status).toBe("deleted");
    expect((await litellm.info(rotated.key)).body.info.key_alias).toBe("gw-ci-agent");
    run({ keys: [{ ...openWebui, max_budget: 200 }, agent], remove: [{ alias: rotated.alias, key: rotated.key }] });
  });

  test("after the database lost its keys, the next run registers them again", async () => {
    await litellm.control({ reset: true });
    expect(run({ mode: "check", keys: [openWebui, agent] }).stdout).toMatchObject({
      inSync: false,
      created: ["gw-open-webui", "gw-ci-agent"],
    });
    expect(run({ keys: [openWebui, agent] }).stdout.created).toEqual(["gw-open-webui", "gw-ci-agent"]);
    expect((await litellm.info(openWebui.key)).status).toBe(200);
  });

  test("LiteLLM unreachable: exit 2 with the address it tried", () => {
    const result = run({ keys: [openWebui], baseUrl: "http://127.0.0.1:1" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^cannot reach LiteLLM at http:\/\/127\.0\.0\.1:1: .*refused/i);
  });

  test("LiteLLM answering 500: exit 1 with LiteLLM's own error text", async () => {
    await litellm.control({ fail: 500 });
    const result = run({ keys: [openWebui] });
    await litellm.control({ fail: 0 });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("LiteLLM answered 500 to POST /v2/key/info: Internal Server Error: stand-in told to fail");
  });

  test("database lost at run time: LiteLLM's /v2/key/info answer reaches the user", async () => {
    await litellm.control({ db: "down" });
    const result = run({ keys: [openWebui] });
    await litellm.control({ db: "up" });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("LiteLLM answered 500 to POST /v2/key/info: database is down (stand-in switch)");
  });

  test("a wrong master key: LiteLLM's 401 text", () => {
    const result = run({ keys: [openWebui], masterKey: "sk-not-the-master-key-0123456789" });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^LiteLLM answered 401 to POST \/v2\/key\/info: Authentication Error/);
  });

  test("an alias held by a key the stack lost track of (kept database, new state) is taken over", async () => {
    const earlier = await fetch(`${litellm.url}/key/generate`, {
      method: "POST",
      headers: { Authorization: `Bearer ${litellm.masterKey}` },
      body: JSON.stringify({ key_alias: "gw-taken" }),
    });
    expect(earlier.status).toBe(200);
    const stale = ((await earlier.json()) as { key: string }).key;
    const fresh = { ...agent, alias: "gw-taken", key: "sk-newKEY0123456789abcdefghijklmnopqrstuvwxyzAB" };
    const result = run({ keys: [fresh] });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatchObject({ created: ["gw-taken"], deleted: ["gw-taken"] });
    // The stale key no longer works; the declared one holds the alias.
    expect((await litellm.info(stale)).body.info.status).toBe("deleted");
    expect((await litellm.info(fresh.key)).body.info.key_alias).toBe("gw-taken");
    expect(run({ keys: [fresh] }).stdout.inSync).toBe(true);
    run({ keys: [], remove: [{ alias: fresh.alias, key: fresh.key }] });
  });

  test("LiteLLM's custom-key rules come back verbatim", () => {
    const result = run({ keys: [{ ...agent, alias: "gw-short", key: "sk-short" }] });
    expect(result.status).toBe(1);
    // LiteLLM's text is "{'error': 'Invalid key format. ...'}"; the script shows what is inside.
    expect(result.stderr).toBe(
      "LiteLLM answered 400 to POST /key/generate: Invalid key format. LiteLLM Virtual Key must be at least 16 characters long.",
    );
  });

  test("no key ever travels in a URL: every call's target is a bare path", async () => {
    await litellm.control({ reset: true, clearCalls: true });
    run({ keys: [openWebui, agent] });
    run({ keys: [openWebui], remove: [{ alias: agent.alias, key: agent.key }] });
    const targets = await litellm.targets();
    expect(targets.length).toBeGreaterThan(4);
    expect(targets.filter((t) => t.includes("?") || /sk-/.test(t))).toEqual([]);
  });

  test("an error that echoes keys reaches the user without them, and capped", async () => {
    await litellm.control({ fail: 500, echo: true });
    // run() itself fails the test if the master key or a declared key appears in the output.
    const result = run({ keys: [openWebui, agent] });
    await litellm.control({ fail: 0, echo: false });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^LiteLLM answered 500 to POST \/v2\/key\/info: Internal Server Error: stand-in told to fail \(Authorization: Bearer \[secret\], body: \{"keys": \["\[secret\]"\]\}\)$/,
    );
  });

  test("scrub: exact secrets, anything key-shaped, and a length cap", () => {
    const probe = `
import json, sys
sys.path.insert(0, sys.argv[1])
import litellm_keys
text = "master hunter2-not-key-shaped; other sk-abcdefgh12345678 and sk-short; " + "x" * 2000
print(json.dumps(litellm_keys.scrub(text, ["hunter2-not-key-shaped"])))
`;
    const result = spawnSync("python3", ["-c", probe, path.dirname(SCRIPT)], { encoding: "utf8" });
    const scrubbed = JSON.parse(result.stdout) as string;
    expect(scrubbed.startsWith("master [secret]; other sk-\u2026 and sk-short; xxx")).toBe(true);
    expect(scrubbed.endsWith("\u2026 (truncated)")).toBe(true);
    expect(scrubbed.length).toBeLessThan(520);
  });

  test("bad input is refused before any call", () => {
    const result = spawnSync("python3", [SCRIPT], { input: '{"keys": "nope"}', encoding: "utf8" });
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/^bad input/);
  });
});
