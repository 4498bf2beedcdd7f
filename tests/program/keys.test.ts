/** Virtual keys declared in a stack's config, as the program wires them (under mocks). */
import { parse } from "yaml";
import { find, plainOccurrences, runProgram, stackConfig, TYPES } from "../helpers/program";

const SUPPLIED_WEBUI_KEY = "sk-suppliedOpenWebuiKey0123456789abcdefghijkl";

async function runWith(settings: Record<string, string>) {
  const config = { ...stackConfig("medium") };
  for (const [k, v] of Object.entries(settings)) config[`ai-gateway:${k}`] = v;
  const run = await runProgram({ stack: "medium", config });
  if (run.error) throw run.error;
  return run;
}

describe("declared consumers", () => {
  const apiKeys = JSON.stringify([
    { name: "ci-agent", models: ["gpt-4o", "claude-sonnet-4-5"], maxBudget: 5, budgetDuration: "7d", rpmLimit: 60, tpmLimit: 100000 },
    { name: "ide", budget: "unlimited" },
    { name: "scripts" },
  ]);
  let run: Awaited<ReturnType<typeof runWith>>;
  beforeAll(async () => {
    run = await runWith({
      apiKeys,
      apiKeyValues: JSON.stringify({ "open-webui": SUPPLIED_WEBUI_KEY }),
      continueModels: '["claude-sonnet-4-5","gpt-5-mini","gpt-4o"]',
      continueKey: "ide",
      continueAnthropicTier: "2",
    });
  });

  test("each consumer gets its own key, with its own limits; the rest inherit the gateway's budget", () => {
    const registration = run.resources.find((r) => r.type === TYPES.keyRegistration)!;
    const o = run.outputs as any;
    expect(Object.keys(o.apiKeys)).toEqual(["ci-agent", "ide", "scripts"]);
    expect(new Set([o.openWebuiApiKey, ...Object.values(o.apiKeys)]).size).toBe(4);
    expect(registration.inputs.keys).toEqual([
      {
        alias: "ai-gateway-medium-open-webui",
        key: SUPPLIED_WEBUI_KEY,
        models: [],
        max_budget: 15,
        budget_duration: "30d",
        rpm_limit: null,
        tpm_limit: null,
      },
      {
        alias: "ai-gateway-medium-ci-agent",
        key: o.apiKeys["ci-agent"],
        models: ["claude-sonnet-4-5", "gpt-4o"],
        max_budget: 5,
        budget_duration: "7d",
        rpm_limit: 60,
        tpm_limit: 100000,
      },
      {
        alias: "ai-gateway-medium-ide",
        key: o.apiKeys.ide,
        models: [],
        max_budget: 1000,
        budget_duration: "30d",
        rpm_limit: null,
        tpm_limit: null,
      },
      {
        alias: "ai-gateway-medium-scripts",
        key: o.apiKeys.scripts,
        models: [],
        max_budget: 15,
        budget_duration: "30d",
        rpm_limit: null,
        tpm_limit: null,
      },
    ]);
  });

  test("declaredKeys: the records the registration sends, by consumer, without key values, and not a secret", () => {
    const o = run.outputs as any;
    const registration = run.resources.find((r) => r.type === TYPES.keyRegistration)!;
    const sent = Object.fromEntries(
      (registration.inputs.keys as any[]).map(({ key: _key, ...record }) => [record.alias.replace("ai-gateway-medium-", ""), record]),
    );
    expect(Object.keys(o.declaredKeys)).toEqual(["open-webui", "ci-agent", "ide", "scripts"]);
    expect(o.declaredKeys).toEqual(sent);
    expect(o.declaredKeys["ci-agent"]).toEqual({
      alias: "ai-gateway-medium-ci-agent",
      models: ["claude-sonnet-4-5", "gpt-4o"],
      max_budget: 5,
      budget_duration: "7d",
      rpm_limit: 60,
      tpm_limit: 100000,
    });
    expect(run.secretOutputs.has("declaredKeys")).toBe(false);
    const json = JSON.stringify(o.declaredKeys);
    for (const key of [o.openWebuiApiKey, ...Object.values(o.apiKeys as Record<string, string>), o.litellmMasterKey]) {
      expect(json).not.toContain(key);
    }
  });

  test("a supplied value replaces generation; generated values come from one RandomPassword per consumer", () => {
    const passwords = run.resources.filter((r) => r.type === TYPES.password).map((r) => r.name);
    expect(passwords).not.toContain("ai-gateway-keys-open-webui");
    expect(passwords).toEqual(expect.arrayContaining(["ai-gateway-keys-ci-agent", "ai-gateway-keys-ide", "ai-gateway-keys-scripts"]));
    const webui = find(run, TYPES.container, "-open-webui");
    expect(webui.inputs.envs).toContain(`OPENAI_API_KEY=${SUPPLIED_WEBUI_KEY}`);
    expect(run.resources.flatMap((r) => plainOccurrences(r.wireInputs, SUPPLIED_WEBUI_KEY))).toEqual([]);
  });

  test("the Continue.dev config uses the chosen consumer's key, never Open WebUI's, and is a secret", () => {
    const o = run.outputs as any;
    expect(run.secretOutputs.has("continueConfig")).toBe(true);
    const config = parse(o.continueConfig);
    expect(config.models.map((m: any) => [m.model, m.provider, m.apiKey, m.apiBase])).toEqual([
      ["claude-sonnet-4-5", "anthropic", o.apiKeys.ide, o.apiBaseUrl],
      ["gpt-5-mini", "azure", o.apiKeys.ide, o.apiBaseUrl],
      ["gpt-4o", "openai", o.apiKeys.ide, o.apiBaseUrl],
    ]);
    expect(config.models[0].defaultCompletionOptions.contextLength).toBe(400000);
    expect(o.continueConfig).not.toContain(o.openWebuiApiKey);
    expect(o.apiForAgents.apiKey).toBe(o.apiKeys.ide);
    expect(o.apiForAgents.exampleCurl).toContain('"model":"claude-sonnet-4-5"');
  });
});

test("a consumer removed from config disappears from the declaration (the registration deletes its key)", async () => {
  const before = await runWith({ apiKeys: '[{"name":"a"},{"name":"b"}]' });
  const after = await runWith({ apiKeys: '[{"name":"a"}]' });
  const aliases = (run: typeof before) => run.resources.find((r) => r.type === TYPES.keyRegistration)!.inputs.keys.map((k: any) => k.alias);
  expect(aliases(before)).toEqual(["ai-gateway-medium-open-webui", "ai-gateway-medium-a", "ai-gateway-medium-b"]);
  expect(aliases(after)).toEqual(["ai-gateway-medium-open-webui", "ai-gateway-medium-a"]);
  // Other keys keep their values: they come from RandomPasswords named by consumer, not by position.
  const keyOf = (run: typeof before, alias: string) =>
    run.resources.find((r) => r.type === TYPES.keyRegistration)!.inputs.keys.find((k: any) => k.alias === alias).key;
  expect(keyOf(after, "ai-gateway-medium-a")).toBe(keyOf(before, "ai-gateway-medium-a"));
});

test("no consumers: only Open WebUI's key, and no agent outputs", async () => {
  const run = await runWith({ apiKeys: "[]" });
  const o = run.outputs as any;
  expect(o.apiKeys).toEqual({});
  expect(o.apiForAgents).toBeUndefined();
  expect(o.continueConfig).toBeUndefined();
  expect(run.resources.find((r) => r.type === TYPES.keyRegistration)!.inputs.keys).toHaveLength(1);
});
