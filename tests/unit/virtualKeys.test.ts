import { SettingError } from "../../lib/errors";
import { budgetPeriodProblem, consumers, suppliedKeyValues } from "../../lib/virtualKeys";
import { GENERATED_KEY_LENGTH } from "../../lib/constants";
import { BUDGETS } from "../../profiles";
import { ACCEPTED_PERIODS, REFUSED_BY_BOTH, REFUSED_HERE_ONLY } from "../fixtures/budgetPeriods";

function refusal(entry: Record<string, unknown>): string {
  try {
    consumers("apiKeys", [{ name: "ci", ...entry }]);
  } catch (e) {
    expect(e).toBeInstanceOf(SettingError);
    return (e as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(entry)}`);
}

describe("budget periods (review F5: what LiteLLM 1.110.1 accepts)", () => {
  test.each(ACCEPTED_PERIODS)("%j is accepted", (period) => {
    expect(budgetPeriodProblem(period)).toBeUndefined();
    expect(consumers("apiKeys", [{ name: "ci", maxBudget: 5, budgetDuration: period }])[0].budgetDuration).toBe(period);
  });

  test.each([...REFUSED_BY_BOTH, ...REFUSED_HERE_ONLY])("%j is refused with a one-line message", (period) => {
    const message = refusal({ maxBudget: 5, budgetDuration: period });
    expect(message).toContain(`apiKeys[0].budgetDuration = ${JSON.stringify(period)}: `);
    expect(message).not.toContain("\n");
  });

  test("months other than one are refused with LiteLLM's reason", () => {
    expect(refusal({ maxBudget: 5, budgetDuration: "2mo" })).toMatch(/only every month: use 1mo/);
  });

  test("hours above a day are refused: LiteLLM would reset them at the next aligned hour", () => {
    expect(refusal({ maxBudget: 5, budgetDuration: "48h" })).toMatch(/"48h" would not mean 48 hours; use days/);
  });

  test("minutes are refused as the likely typo for months", () => {
    expect(refusal({ maxBudget: 5, budgetDuration: "1m" })).toMatch(/minutes or seconds.*months are 1mo/);
  });

  test("a number is not a period", () => {
    expect(refusal({ maxBudget: 5, budgetDuration: 30 })).toContain("budgetDuration = 30: must be a LiteLLM budget period");
  });

  test("every budget profile's period is one the gateway accepts", () => {
    for (const budget of Object.values(BUDGETS)) {
      expect(budgetPeriodProblem(budget.budgetDuration)).toBeUndefined();
    }
  });
});

describe("key limits (LiteLLM's GenerateKeyRequest: rpm/tpm int >= 0, max_budget finite >= 0)", () => {
  test("0 requests or tokens per minute is refused: LiteLLM would refuse every request", () => {
    expect(refusal({ rpmLimit: 0 })).toBe(
      "Invalid ai-gateway setting apiKeys[0].rpmLimit = 0: would make LiteLLM refuse every request; leave it out for no limit",
    );
    expect(refusal({ tpmLimit: 0 })).toContain("apiKeys[0].tpmLimit = 0: would make LiteLLM refuse every request");
  });

  test.each([-1, 1.5, "60", null])("rpmLimit %j is refused (LiteLLM refuses negatives; the gateway wants a JSON whole number)", (value) => {
    expect(refusal({ rpmLimit: value })).toMatch(/apiKeys\[0\]\.rpmLimit = .*: must be a positive whole number of requests per minute/);
  });

  test.each([-0.01, Number.NaN, Number.POSITIVE_INFINITY, "5"])(
    "maxBudget %j is refused (LiteLLM: a non-negative finite number)",
    (value) => {
      expect(refusal({ maxBudget: value })).toMatch(/apiKeys\[0\]\.maxBudget = .*: must be a number of US dollars, 0 or more/);
    },
  );

  test("maxBudget 0 is accepted as LiteLLM does: the key can spend nothing", () => {
    expect(consumers("apiKeys", [{ name: "ci", maxBudget: 0 }])[0].maxBudget).toBe(0);
  });
});

describe("supplied key values (review F6: printed inside a shell command)", () => {
  test("the gateway's generated form (sk- + letters and digits) and LiteLLM's alphabet (token_urlsafe) pass", () => {
    const generated = `sk-${"aZ09".repeat(GENERATED_KEY_LENGTH / 4)}`;
    const urlsafe = "sk-Ab_9-xY2_Qw8-Ze3_Rt7-Uo1_Pi5_";
    expect(suppliedKeyValues("apiKeyValues", { agents: generated, ide: urlsafe })).toEqual({ agents: generated, ide: urlsafe });
  });

  test.each([
    ["command substitution", "sk-$(touch${IFS}pwned3)aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
    ["a quote", "sk-abcdefghijklmnopqrstuvwxyz0123'"],
    ["a dot", "sk-abcdefghijklmnopqrstuvwxyz.0123"],
    ["non-ASCII letters", "sk-abcdefghijklmnopqrstuvwxyzé0123"],
  ])("a value with %s is refused without being shown", (_what, value) => {
    expect(() => suppliedKeyValues("apiKeyValues", { agents: value })).toThrow(
      new RegExp(`^Invalid ai-gateway setting apiKeyValues\\.agents = \\[secret, ${value.length} characters\\]: must be sk- followed`),
    );
  });
});
