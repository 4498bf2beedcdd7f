/**
 * Client configuration for agents and IDEs, rendered from the gateway's settings. The Continue.dev
 * rules (display names, provider detection, per-provider options, context sizes by Anthropic tier)
 * are the original bundle's (seed-inventory.md §8).
 */
import { stringify } from "yaml";
import { shellCommand } from "./shellQuote";

export type ContinueProvider = "anthropic" | "azure" | "openai";
export type AnthropicTier = 1 | 2 | 3 | 4;

/** `claude-*` is Anthropic; `gpt-5-mini` and `azure/*` are Azure; everything else is OpenAI-compatible. */
export function continueProvider(modelId: string): ContinueProvider {
  if (modelId.startsWith("claude-")) {
    return "anthropic";
  }
  if (modelId === "gpt-5-mini" || modelId.startsWith("azure/")) {
    return "azure";
  }
  return "openai";
}

/** "gpt-5-mini" -> "GPT-5 Mini", "claude-haiku-4-5" -> "Claude Haiku 4.5", "o1-mini" -> "O1 Mini". */
export function displayName(modelId: string): string {
  const parts = modelId
    .slice(modelId.lastIndexOf("/") + 1)
    .split("-")
    .filter(Boolean);
  const words: string[] = [];
  for (const part of parts) {
    const previous = words.length > 0 ? words[words.length - 1] : "";
    if (previous === "GPT" && /^\d/.test(part)) {
      words[words.length - 1] = `GPT-${part}`;
    } else if (/^\d+$/.test(part) && /(^|-)\d+$/.test(previous)) {
      words[words.length - 1] = `${previous}.${part}`;
    } else if (/^\d/.test(part)) {
      words.push(part);
    } else {
      words.push(part.toLowerCase() === "gpt" ? "GPT" : part.charAt(0).toUpperCase() + part.slice(1));
    }
  }
  return words.join(" ");
}

const ANTHROPIC_CONTEXT: Record<AnthropicTier, { haiku: number; other: number }> = {
  1: { haiku: 35000, other: 20000 },
  2: { haiku: 800000, other: 400000 },
  3: { haiku: 1600000, other: 800000 },
  4: { haiku: 3200000, other: 1600000 },
};

function usesTools(modelId: string): boolean {
  return /claude|gpt-4|gpt-5|o1|gemini/.test(modelId) && !modelId.includes("gemini-pro-vision");
}

export interface ContinueConfigInput {
  /** The gateway's public OpenAI-compatible base URL. */
  readonly apiBase: string;
  /** A virtual key that is not Open WebUI's. */
  readonly apiKey: string;
  readonly models: readonly string[];
  readonly anthropicTier: AnthropicTier;
}

export function continueModel(modelId: string, input: ContinueConfigInput): Record<string, unknown> {
  const provider = continueProvider(modelId);
  const contextLength =
    provider === "anthropic" ? ANTHROPIC_CONTEXT[input.anthropicTier][modelId.includes("haiku") ? "haiku" : "other"] : 128000;
  const options: Record<string, unknown> = { maxTokens: 4096, contextLength };
  const extra: Record<string, unknown> = {};
  if (provider === "anthropic") {
    Object.assign(options, { reasoning: true, reasoningBudgetTokens: 2048 });
  } else if (provider === "openai") {
    Object.assign(options, { temperature: 0.7, topP: 0.9 });
  } else {
    // The deployment name becomes the path segment nginx rewrites: /openai/deployments/<name>/...
    extra.env = { deployment: modelId, apiType: "azure-openai" };
    extra.requestOptions = { extraBodyProperties: { reasoning_effort: "medium" } };
  }
  return {
    name: displayName(modelId),
    provider,
    model: modelId,
    apiBase: input.apiBase,
    apiKey: input.apiKey,
    roles: ["chat", "edit", "apply"],
    ...(usesTools(modelId) ? { capabilities: ["tool_use"] } : {}),
    defaultCompletionOptions: options,
    ...extra,
  };
}

/** A Continue.dev config.yaml (copy it to ~/.continue/config.yaml). */
export function renderContinueConfig(input: ContinueConfigInput): string {
  const context = ["diff", "url", "terminal", "code", "problems", ...(input.anthropicTier > 1 ? ["codebase", "folder", "file"] : [])];
  return stringify({
    name: "AI Gateway",
    version: "1.0.0",
    schema: "v1",
    models: input.models.map((m) => continueModel(m, input)),
    context: context.map((provider) => ({ provider })),
  });
}

/**
 * The essentials an agent needs: base URL, its key, and a request that works as is. The command is
 * pasted into shells, so every interpolated part is quoted for a POSIX shell (validation also keeps
 * the parts to plain characters; the quoting holds on its own).
 */
export function apiForAgents(apiBase: string, apiKey: string, model: string): { baseUrl: string; apiKey: string; exampleCurl: string } {
  const body = JSON.stringify({ model, messages: [{ role: "user", content: "Hello" }] });
  return {
    baseUrl: apiBase,
    apiKey,
    exampleCurl: shellCommand([
      "curl",
      "-sS",
      `${apiBase}/chat/completions`,
      "-H",
      `Authorization: Bearer ${apiKey}`,
      "-H",
      "Content-Type: application/json",
      "-d",
      body,
    ]),
  };
}
