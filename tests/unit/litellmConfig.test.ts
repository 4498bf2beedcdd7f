import { parse } from "yaml";
import { renderLitellmConfig } from "../../lib/litellmConfig";
import { REQUEST_BUDGET_SECONDS } from "../../lib/constants";
import { BUDGETS } from "../../profiles";
import { LITELLM_DOCUMENTED_KEYS } from "../fixtures/litellmDocumentedKeys";
import { budgetPeriodProblem } from "../../lib/virtualKeys";

const models = [
  { name: "gpt-4o", model: "openai/gpt-4o", apiKeyEnv: "OPENAI_API_KEY" },
  { name: "claude-sonnet-4-5", model: "anthropic/claude-sonnet-4-5", apiKeyEnv: "ANTHROPIC_API_KEY" },
  { name: "local", model: "openai/qwen", apiBase: "http://10.0.0.9:8000/v1" },
];

describe.each(Object.values(BUDGETS))("config.yaml for budget $name", (budget) => {
  const text = renderLitellmConfig({ models, budget, spendLogRetention: "90d" });
  const config = parse(text);

  test("parses as YAML with only keys LiteLLM documents, in the sections it reads them from", () => {
    for (const key of Object.keys(config)) {
      expect(LITELLM_DOCUMENTED_KEYS.top).toContain(key);
    }
    for (const section of ["general_settings", "litellm_settings", "router_settings"] as const) {
      for (const key of Object.keys(config[section])) {
        expect([section, key, (LITELLM_DOCUMENTED_KEYS[section] as readonly string[]).includes(key)]).toEqual([section, key, true]);
      }
    }
    for (const entry of config.model_list) {
      expect(Object.keys(entry).sort()).toEqual(["litellm_params", "model_name"]);
      for (const key of Object.keys(entry.litellm_params)) {
        expect(LITELLM_DOCUMENTED_KEYS.litellm_params).toContain(key);
      }
    }
  });

  test("the master key sits under general_settings (elsewhere LiteLLM ignores it and accepts any key)", () => {
    expect(config.general_settings.master_key).toBe("os.environ/LITELLM_MASTER_KEY");
    expect(config.litellm_settings.master_key).toBeUndefined();
  });

  test("the budget is proxy-wide in litellm_settings, with a duration LiteLLM parses", () => {
    expect(config.litellm_settings.max_budget).toBe(budget.maxBudgetUsd);
    expect(budgetPeriodProblem(config.litellm_settings.budget_duration)).toBeUndefined();
    expect(config.general_settings.max_budget).toBeUndefined();
    expect(config.general_settings.budget_duration).toBeUndefined();
  });

  test("retries and timeouts live where LiteLLM reads them and match the request budget", () => {
    expect(config.litellm_settings.request_timeout).toBe(REQUEST_BUDGET_SECONDS);
    expect(config.router_settings.timeout).toBe(REQUEST_BUDGET_SECONDS);
    expect(config.litellm_settings.num_retries).toBe(config.router_settings.num_retries);
    expect(config.general_settings.num_retries).toBeUndefined();
    expect(config.general_settings.timeout).toBeUndefined();
  });

  test("a timed-out call is not retried, other failures are", () => {
    expect(config.router_settings.retry_policy).toEqual({ TimeoutErrorRetries: 0 });
    expect(config.router_settings.num_retries).toBeGreaterThan(0);
    // No separate stream limit: streams fall back to request_timeout, the same per-read limit.
    expect(config.router_settings.stream_timeout).toBeUndefined();
  });

  test("credentials are environment references, never values", () => {
    expect(config.general_settings.database_url).toBe("os.environ/DATABASE_URL");
    expect(config.model_list.map((m: any) => m.litellm_params.api_key)).toEqual([
      "os.environ/OPENAI_API_KEY",
      "os.environ/ANTHROPIC_API_KEY",
      undefined,
    ]);
    expect(text).not.toMatch(/sk-[A-Za-z0-9]{8,}/);
  });

  test("no callbacks that do not exist (the original referenced a module it never shipped)", () => {
    expect(text).not.toContain("callbacks");
  });
});

test("a pool of 10 per worker is written explicitly, so PostgreSQL's max_connections can be sized from it", () => {
  const config = parse(renderLitellmConfig({ models: [], budget: BUDGETS.test, spendLogRetention: "90d" }));
  expect(config.general_settings.database_connection_pool_limit).toBe(10);
  expect(config.model_list).toEqual([]);
});

test.each([
  ["30d", "17 3 * * *"],
  ["365d", "17 3 * * *"],
  ["12h", "17 * * * *"],
])("spend logs older than %s are deleted by LiteLLM's own job, run at %s; prompts and responses stay out of them", (retention, cron) => {
  const config = parse(renderLitellmConfig({ models: [], budget: BUDGETS.test, spendLogRetention: retention }));
  expect(config.general_settings).toMatchObject({
    maximum_spend_logs_retention_period: retention,
    maximum_spend_logs_cleanup_cron: cron,
    store_prompts_in_spend_logs: false,
  });
  // Error logs are spend-log rows of failed requests, pruned with them: they stay on.
  expect(config.general_settings.disable_error_logs).toBeUndefined();
});
