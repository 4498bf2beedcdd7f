import { parse } from "yaml";
import { runRecorded } from "../helpers/recordedCommand";
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

function runRecordedCurl(shell: string, command: string): { calls: string[][]; strayFiles: string[] } {
  return runRecorded(shell, command, "curl");
}

function intendedArgs(apiBase: string, apiKey: string, model: string): string[] {
  const body = JSON.stringify({ model, messages: [{ role: "user", content: "Hello" }] });
  return [
    "-sS",
    `${apiBase}/chat/completions`,
    "-H",
    `Authorization: Bearer ${apiKey}`,
    "-H",
    "Content-Type: application/json",
    "-d",
    body,
  ];
}

describe("apiForAgents.exampleCurl", () => {
  test("reads as the plain command for ordinary values", () => {
    const a = apiForAgents("http://127.0.0.1:8080/api/litellm/v1", "sk-k", "gpt-4o");
    expect(a.exampleCurl).toBe(
      `curl -sS http://127.0.0.1:8080/api/litellm/v1/chat/completions -H 'Authorization: Bearer sk-k' -H 'Content-Type: application/json' -d '{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}'`,
    );
  });

  // review-security.md F6's reproductions, and more shell syntax. Validation now refuses each of
  // these values; the quoting must hold without it.
  const base = "http://127.0.0.1:8080/api/litellm/v1";
  const key = "sk-0123456789abcdefghijklmnopqrstuvwxyz";
  const hostile: [string, string, string, string][] = [
    ["model closing the quote", base, key, "x'; touch pwned2; echo '"],
    ["key with command substitution", base, "sk-$(touch${IFS}pwned3)aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "gpt-4o"],
    ["base with brace expansion", "http://x$({touch,pwned4}).com/api/litellm/v1", key, "gpt-4o"],
    ["model with backticks and a newline", base, key, "a`touch pwned5`\n;touch pwned6"],
    ["key with a double quote and globs", base, 'sk-"; touch pwned7; echo "*?[a]', "gpt-4o"],
    ["model with an escaped quote", base, key, "a\\'; touch pwned8 #"],
    ["base starting with = (zsh)", "=touch", key, "gpt-4o"],
  ];
  test.each(["bash", "sh"])("under %s, hostile values run one curl with exactly the intended arguments", (shell) => {
    for (const [, apiBase, apiKey, model] of hostile) {
      const { calls, strayFiles } = runRecordedCurl(shell, apiForAgents(apiBase, apiKey, model).exampleCurl);
      expect(strayFiles).toEqual([]);
      expect(calls).toEqual([intendedArgs(apiBase, apiKey, model)]);
    }
  });

  test("ordinary values (the program's own kind) run as the intended command", () => {
    const args = intendedArgs(
      "https://ai.example.com/api/litellm/v1",
      `sk-${"a1".repeat(24)}`,
      "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
    );
    const { calls, strayFiles } = runRecordedCurl(
      "bash",
      apiForAgents("https://ai.example.com/api/litellm/v1", `sk-${"a1".repeat(24)}`, "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0")
        .exampleCurl,
    );
    expect(strayFiles).toEqual([]);
    expect(calls).toEqual([args]);
  });

  test("the recording curl sees an unquoted command's injection (the check can fail)", () => {
    const { calls, strayFiles } = runRecordedCurl("bash", `curl -sS -d '${JSON.stringify({ model: hostile[0][3] })}'`);
    expect(strayFiles).toEqual(["pwned2"]);
    expect(calls).toHaveLength(1);
  });
});
