/**
 * Budget profiles, as the original bundle named them. LiteLLM enforces a budget only in two
 * places: `litellm_settings.max_budget` + `budget_duration` (proxy-wide) and `max_budget` +
 * `budget_duration` on a virtual key. The original wrote them under `general_settings` with the
 * duration "monthly", where LiteLLM ignores them.
 */
export type BudgetName = "test" | "prod" | "unlimited";

export interface BudgetProfile {
  readonly name: BudgetName;
  /** Spending cap in US dollars per period. */
  readonly maxBudgetUsd: number;
  /** Reset period in LiteLLM's duration syntax. */
  readonly budgetDuration: string;
  readonly description: string;
}

export const BUDGETS: Readonly<Record<BudgetName, BudgetProfile>> = {
  test: { name: "test", maxBudgetUsd: 15, budgetDuration: "30d", description: "trying the gateway out" },
  prod: { name: "prod", maxBudgetUsd: 200, budgetDuration: "30d", description: "day-to-day team use" },
  unlimited: {
    name: "unlimited",
    maxBudgetUsd: 1000,
    budgetDuration: "30d",
    description: "a high ceiling, still a ceiling",
  },
};

export const BUDGET_NAMES = Object.keys(BUDGETS) as BudgetName[];
