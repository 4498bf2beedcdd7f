/** The smoke test's pure parts: command line, declared vs LiteLLM's key record, table, exit code. */
import { createHash } from "crypto";
import {
  CheckRow,
  describeKey,
  keyInfoDifferences,
  keyInfoHash,
  parseSmokeArgs,
  renderTable,
  smokeExitCode,
  summary,
  UsageError,
  withOrigin,
} from "../../lib/smoke";
import { keyRecord } from "../../lib/virtualKeys";
import { BUDGETS } from "../../profiles";

describe("parseSmokeArgs", () => {
  test("the stack, both URL overrides (as origins) and --skip-convergence, in either spelling", () => {
    expect(parseSmokeArgs(["--stack", "pr-12"])).toEqual({ stack: "pr-12", skipConvergence: false });
    expect(
      parseSmokeArgs([
        "--public-url=http://127.0.0.1:28080/",
        "--stack=medium",
        "--admin-url",
        "http://localhost:14001",
        "--skip-convergence",
      ]),
    ).toEqual({ stack: "medium", publicUrl: "http://127.0.0.1:28080", adminUrl: "http://localhost:14001", skipConvergence: true });
    expect(parseSmokeArgs(["--stack", "org/ai-gateway/prod", "--public-url", "https://ai.example.com"]).publicUrl).toBe(
      "https://ai.example.com",
    );
  });

  test.each([
    [[], "--stack is required"],
    [["pr-12"], 'unknown argument "pr-12"'],
    [["--stack"], "--stack needs a value"],
    [["--stack", "--skip-convergence"], "--stack needs a value"],
    [["--stack", "a", "--public-url", "127.0.0.1:8080"], '--public-url "127.0.0.1:8080": must be an origin'],
    [["--stack", "a", "--admin-url", "http://127.0.0.1:4001/ui"], '--admin-url "http://127.0.0.1:4001/ui": must be an origin'],
    [["--stack", "a", "--skip-convergence=yes"], "--skip-convergence takes no value"],
    [["--stack", "a", "--verbose"], 'unknown argument "--verbose"'],
  ])("%j is bad usage: %s, on one line with the usage", (argv, message) => {
    let error: unknown;
    try {
      parseSmokeArgs(argv);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).toContain("usage: npm run smoke -- --stack NAME");
    expect((error as Error).message).not.toContain("\n");
  });
});

test("withOrigin replaces only the origin (a tunnel's), keeping path and query", () => {
  expect(withOrigin("http://127.0.0.1:20123/api/litellm/v1", "http://127.0.0.1:9999")).toBe("http://127.0.0.1:9999/api/litellm/v1");
  expect(withOrigin("http://203.0.113.80/", "http://localhost:8080")).toBe("http://localhost:8080/");
  expect(withOrigin("http://203.0.113.80/", undefined)).toBe("http://203.0.113.80/");
});

test("keyInfoHash is the SHA-256 hex LiteLLM stores as the key's token", () => {
  const key = "sk-0123456789abcdefghijklmnopqrstuvwxyz";
  expect(keyInfoHash(key)).toBe(createHash("sha256").update(key).digest("hex"));
  expect(keyInfoHash(key)).toMatch(/^[0-9a-f]{64}$/);
  expect(keyInfoHash(key)).not.toContain("sk-");
});

describe("keyInfoDifferences", () => {
  const declared = keyRecord(
    "ai-gateway-pr-1-ci",
    { name: "ci", models: ["gpt-4o", "claude-sonnet-4-5"], maxBudget: 5, budgetDuration: "7d", rpmLimit: 60 },
    BUDGETS.test,
  );
  // Shaped like LiteLLM 1.110.1's /key/info `info` (info_key_fn: the row without token, plus status).
  const info = {
    key_alias: "ai-gateway-pr-1-ci",
    key_name: "sk-...wxyz",
    spend: 0.42,
    max_budget: 5.0,
    budget_duration: "7d",
    budget_reset_at: "2026-12-07T00:00:00Z",
    models: ["gpt-4o", "claude-sonnet-4-5"],
    rpm_limit: 60,
    tpm_limit: null,
    metadata: {},
    blocked: null,
    status: "active",
  };

  test("agree: nothing reported, whatever LiteLLM's model order and extra fields", () => {
    expect(keyInfoDifferences(declared, info)).toEqual([]);
    expect(keyInfoDifferences(declared, { ...info, models: ["claude-sonnet-4-5", "gpt-4o"] })).toEqual([]);
    const gatewayKey = keyRecord("ai-gateway-pr-1-open-webui", { name: "open-webui" }, BUDGETS.test);
    const withoutTpm: Record<string, unknown> = { ...info };
    delete withoutTpm.tpm_limit;
    expect(
      keyInfoDifferences(gatewayKey, {
        ...withoutTpm,
        key_alias: gatewayKey.alias,
        models: [],
        max_budget: 15,
        budget_duration: "30d",
        rpm_limit: null,
      }),
    ).toEqual([]);
  });

  test("each differing field is named with both values", () => {
    expect(keyInfoDifferences(declared, { ...info, max_budget: 50 })).toEqual(["max_budget 50, declared 5"]);
    expect(keyInfoDifferences(declared, { ...info, budget_duration: "30d", rpm_limit: null, tpm_limit: 1000 })).toEqual([
      'budget_duration "30d", declared "7d"',
      "rpm_limit null, declared 60",
      "tpm_limit 1000, declared null",
    ]);
    expect(keyInfoDifferences(declared, { ...info, models: [] })).toEqual(['models [], declared ["claude-sonnet-4-5","gpt-4o"]']);
    expect(keyInfoDifferences(declared, { ...info, models: ["gpt-4o"] })).toHaveLength(1);
    expect(keyInfoDifferences(declared, { ...info, key_alias: "someone-else" })).toEqual([
      'key_alias "someone-else", declared "ai-gateway-pr-1-ci"',
    ]);
  });

  test("a deleted or blocked key, or no record at all, differs", () => {
    expect(keyInfoDifferences(declared, { ...info, status: "deleted" })).toEqual(['status "deleted", not "active"']);
    expect(keyInfoDifferences(declared, undefined)).toEqual(["LiteLLM's /key/info has no record (absent)"]);
    expect(keyInfoDifferences(declared, [])).toHaveLength(1);
  });

  test("describeKey: budget, period, models, limits", () => {
    expect(describeKey(declared)).toBe("$5/7d; claude-sonnet-4-5, gpt-4o; rpm 60");
    expect(describeKey(keyRecord("a-b", { name: "b", budget: "unlimited" }, BUDGETS.test))).toBe("$1000/30d; all models");
  });
});

describe("table and exit code", () => {
  const rows: CheckRow[] = [
    { check: "Open WebUI answers", result: "PASS", detail: '200, "Open WebUI"' },
    { check: "API refuses a wrong key", result: "FAIL", detail: "GET http://x/models: 200, expected 401" },
    { check: "pulumi preview --expect-no-changes", result: "SKIP", detail: "--skip-convergence" },
  ];

  test("renderTable: a header, a rule, one aligned line per check", () => {
    const lines = renderTable(rows).split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^CHECK +RESULT {2}DETAIL$/);
    const detailColumn = lines[0].indexOf("RESULT");
    expect(lines.slice(2).map((l) => l.slice(detailColumn, detailColumn + 4))).toEqual(["PASS", "FAIL", "SKIP"]);
    expect(lines[3]).toContain("GET http://x/models: 200, expected 401");
  });

  test("exit 1 when any check fails or none passed; skipped checks do not fail", () => {
    expect(smokeExitCode(rows)).toBe(1);
    expect(smokeExitCode([rows[0], rows[2]])).toBe(0);
    expect(smokeExitCode([rows[2]])).toBe(1);
    expect(smokeExitCode([])).toBe(1);
    expect(summary(rows)).toBe("smoke test FAILED: 1 passed, 1 failed, 1 skipped");
    expect(summary([rows[0]])).toBe("smoke test passed: 1 passed, 0 failed, 0 skipped");
  });
});
