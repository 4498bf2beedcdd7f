import { envRecord } from "../helpers/envList";
import { sampleOpenWebuiEnv } from "../fixtures/openWebuiEnv";
import { LITELLM_WORKER_RECYCLING, litellmArgs, litellmEnv } from "../../lib/services";

/** The value following `flag` in an argument list, as LiteLLM's click parser would read it. */
function flagValue(args: string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}

describe("LiteLLM worker recycling (review F2)", () => {
  test.each([2, 6])("%i workers: uvicorn's manager replaces each worker at its limit, staggered by the jitter", (workers) => {
    const args = litellmArgs(workers);
    expect(args).not.toContain("--run_gunicorn");
    expect(flagValue(args, "--num_workers")).toBe(String(workers));
    expect(flagValue(args, "--max_requests_before_restart")).toBe("10000");
    expect(flagValue(args, "--max_requests_before_restart_jitter")).toBe("2000");
  });

  test("one worker has no request limit at all: nothing can end the process after N requests", () => {
    expect(litellmArgs(1)).toEqual(["--config", "/app/config.yaml", "--port", "4000", "--num_workers", "1"]);
    expect(litellmArgs(1, { maxRequests: 5, jitter: 2 })).toEqual(litellmArgs(1));
  });

  test("the jitter spreads recycling over a fifth of the limit, so workers do not recycle together", () => {
    expect(LITELLM_WORKER_RECYCLING.jitter).toBeGreaterThan(0);
    expect(LITELLM_WORKER_RECYCLING.jitter / LITELLM_WORKER_RECYCLING.maxRequests).toBeCloseTo(0.2);
  });

  test("custom limits reach the flags (the runtime test recycles after 5 requests)", () => {
    const args = litellmArgs(2, { maxRequests: 5, jitter: 2 });
    expect(flagValue(args, "--max_requests_before_restart")).toBe("5");
    expect(flagValue(args, "--max_requests_before_restart_jitter")).toBe("2");
  });

  test("every flag takes a value, so no value is read as a flag", () => {
    const args = litellmArgs(2);
    const flags = args.filter((a) => a.startsWith("--"));
    expect(flags).toEqual(["--config", "--port", "--num_workers", "--max_requests_before_restart", "--max_requests_before_restart_jitter"]);
    for (const flag of flags) {
      expect(flagValue(args, flag)).toMatch(/^[^-]/);
    }
  });

  test("the environment no longer carries MAX_REQUESTS_BEFORE_RESTART: the flags say it once", () => {
    const env = litellmEnv({
      masterKey: "sk-m",
      saltKey: "sk-s",
      databaseUrl: "postgresql://u:p@h/db",
      uiUsername: "admin",
      uiPassword: "pw",
      providerApiKeys: {},
    });
    expect(env.filter((e) => e.startsWith("MAX_REQUESTS_BEFORE_RESTART"))).toEqual([]);
  });
});

describe("Open WebUI's security settings (review F15)", () => {
  test.each([
    ["https://ai.example.com", "True"],
    ["http://127.0.0.1:8080", "False"],
  ])("publicUrl %s: Secure session and token cookies %s", (publicUrl, secure) => {
    const env = envRecord(sampleOpenWebuiEnv(publicUrl));
    expect(env.WEBUI_SESSION_COOKIE_SECURE).toBe(secure);
    expect(env.WEBUI_AUTH_COOKIE_SECURE).toBe(secure);
  });

  test("the OpenAI passthrough proxy and community sharing are pinned off", () => {
    const env = envRecord(sampleOpenWebuiEnv());
    expect(env.ENABLE_OPENAI_API_PASSTHROUGH).toBe("False");
    expect(env.ENABLE_COMMUNITY_SHARING).toBe("False");
  });
});
