import { parse } from "yaml";
import { apiForAgents, continueProvider, displayName, renderContinueConfig } from "../../lib/continueConfig";

describe("the original's provider rules", () => {
  test.each([
    ["claude-sonnet-4-5", "anthropic"],
    ["claude-haiku-4-5", "anthropic"],
    ["gpt-5-mini", "azure"],
    ["azure/gpt-4o", "azure"],
    ["gpt-5", "openai"],
    ["gpt-4o", "openai"],
    ["gemini-2-5-pro", "openai"],
    ["my-claude-finetune", "openai"],
  ])("%s -> %s", (id, provider) => expect(continueProvider(id)).toBe(provider));
});

describe("display names", () => {
  test.each([
    ["gpt-5-mini", "GPT-5 Mini"],
    ["claude-haiku-4-5", "Claude Haiku 4.5"],
    ["o1-mini", "O1 Mini"],
    ["gemini-2-5-pro", "Gemini 2.5 Pro"],
    ["azure/gpt-4o", "GPT-4o"],
    ["gpt-4-1", "GPT-4.1"],
    ["claude-3-5-sonnet", "Claude 3.5 Sonnet"],
  ])("%s -> %s", (id, name) => expect(displayName(id)).toBe(name));
});

describe("Continue.dev config", () => {
  const base = { apiBase: "https://ai.example.com/api/litellm/v1", apiKey: "sk-agent-key-0123456789abcdefghijklmnop" };

  test("per-provider options, tools and context sizes for tier 1", () => {
    const config = parse(
      renderContinueConfig({
        ...base,
        models: ["claude-haiku-4-5", "claude-sonnet-4-5", "gpt-5-mini", "gpt-4o", "llama-3"],
        anthropicTier: 1,
      }),
    );
    expect(config).toMatchObject({ name: "AI Gateway", version: "1.0.0", schema: "v1" });
    const [haiku, sonnet, mini, gpt4o, llama] = config.models;
    expect(haiku).toMatchObject({
      name: "Claude Haiku 4.5",
      provider: "anthropic",
      model: "claude-haiku-4-5",
      apiBase: base.apiBase,
      apiKey: base.apiKey,
      roles: ["chat", "edit", "apply"],
      capabilities: ["tool_use"],
      defaultCompletionOptions: { maxTokens: 4096, contextLength: 35000, reasoning: true, reasoningBudgetTokens: 2048 },
    });
    expect(sonnet.defaultCompletionOptions.contextLength).toBe(20000);
    expect(mini).toMatchObject({
      provider: "azure",
      requestOptions: { extraBodyProperties: { reasoning_effort: "medium" } },
      env: { deployment: "gpt-5-mini" },
    });
    expect(gpt4o).toMatchObject({ provider: "openai", defaultCompletionOptions: { temperature: 0.7, topP: 0.9, contextLength: 128000 } });
    expect(llama.capabilities).toBeUndefined();
    expect(config.context.map((c: any) => c.provider)).toEqual(["diff", "url", "terminal", "code", "problems"]);
  });

  test("higher tiers get larger Anthropic windows and the codebase context providers", () => {
    const config = parse(renderContinueConfig({ ...base, models: ["claude-haiku-4-5", "claude-opus-4-1"], anthropicTier: 3 }));
    expect(config.models.map((m: any) => m.defaultCompletionOptions.contextLength)).toEqual([1600000, 800000]);
    expect(config.context.map((c: any) => c.provider)).toContain("codebase");
  });
});

test("API essentials for agents: a curl that works as printed", () => {
  const a = apiForAgents("http://127.0.0.1:8080/api/litellm/v1", "sk-k", "gpt-4o");
  expect(a.exampleCurl).toBe(
    `curl -sS http://127.0.0.1:8080/api/litellm/v1/chat/completions -H "Authorization: Bearer sk-k" -H "Content-Type: application/json" -d '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}'`,
  );
});
