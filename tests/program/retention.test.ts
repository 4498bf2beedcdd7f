/** spendLogRetention as the program renders it into LiteLLM's config.yaml, under mocks. */
import { parse } from "yaml";
import { LITELLM_CONFIG_PATH } from "../../lib/constants";
import { filesOf, find, runProgram, stackConfig, TYPES, withSettings } from "../helpers/program";

async function generalSettings(stack: string, settings: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const run = await runProgram({ stack, config: withSettings(stackConfig(stack), settings) });
  if (run.error) {
    throw run.error;
  }
  const config = filesOf(run, find(run, TYPES.container, "-litellm")).find((f) => f.file === LITELLM_CONFIG_PATH)!;
  return parse(config.content).general_settings;
}

test.each([
  ["small", "30d"],
  ["medium", "90d"],
  ["large", "365d"],
])("the %s stack keeps spend logs for %s, the profile's default", async (stack, retention) => {
  expect(await generalSettings(stack)).toMatchObject({
    maximum_spend_logs_retention_period: retention,
    maximum_spend_logs_cleanup_cron: "17 3 * * *",
  });
});

test("a stack's spendLogRetention is the one LiteLLM gets", async () => {
  expect(await generalSettings("small", { spendLogRetention: "36h" })).toMatchObject({
    maximum_spend_logs_retention_period: "36h",
    maximum_spend_logs_cleanup_cron: "17 3 * * *",
  });
});
