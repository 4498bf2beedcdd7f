/**
 * Virtual keys: who gets one, with which limits. Pure: validation of the `apiKeys` setting and the
 * records the key registration makes LiteLLM's database agree with.
 */
import { BUDGET_NAMES, BUDGETS, BudgetName, BudgetProfile } from "../profiles";
import { SettingError, shown, shownSecret } from "./errors";
import { positiveInteger, recordList, uniqueName } from "./validation";

/** The consumer Open WebUI's key belongs to; always present, not declarable in apiKeys. */
export const OPEN_WEBUI_CONSUMER = "open-webui";
/** LiteLLM refuses custom keys shorter than this (MINIMUM_CUSTOM_KEY_LENGTH). */
export const LITELLM_MIN_CUSTOM_KEY_LENGTH = 16;

/**
 * The budget periods the gateway accepts: the subset of what LiteLLM 1.110.1 accepts in which each
 * value means what it says. LiteLLM's own check (proxy/common_utils/timezone_utils.py:
 * budget_duration_error, called by /key/generate and /key/update through
 * management_endpoints/common_utils.py:validate_budget_duration) parses with
 * litellm_core_utils/duration_parser.py: `(\d+)(mo|[smhdw]?)` matched at the start only, the word
 * aliases hourly/daily/weekly/monthly, a positive length, and for months only `1mo`
 * (_handle_month_reset: "Monthly resets currently only support 1 month intervals").
 * Refused here although LiteLLM takes them, each for a stated reason (tests/runtime/litellmAgreement.test.ts
 * lists them and checks that LiteLLM does accept them, and that it refuses everything else refused here):
 * - text after the unit ("30dx", "30d "), leading zeros, capitalised aliases: LiteLLM reads a prefix;
 * - `Nh` above 24: _handle_hour_reset aligns to the clock modulo a day, so "48h" resets at the next midnight;
 * - `Nm`, `Ns`: a cap that resets every few minutes caps nothing, and `m` is the classic typo for months;
 * - `Nd` above 3650 and `Nw` above 520 (ten years): no budget period is that long, and a little
 *   further on LiteLLM's date arithmetic overflows and it refuses them itself.
 */
const BUDGET_PERIOD = /^(?:([1-9][0-9]{0,3})([hdw])|1mo|hourly|daily|weekly|monthly)$/;
const BUDGET_PERIOD_MAX: Readonly<Record<string, number>> = { h: 24, d: 3650, w: 520 };
const BUDGET_PERIOD_ALLOWED =
  'must be a LiteLLM budget period: Nh (1-24), Nd (1-3650), Nw (1-520), 1mo, hourly, daily, weekly or monthly, e.g. "30d"';

/** Why `value` is no budget period the gateway passes to LiteLLM, or undefined when it is one. */
export function budgetPeriodProblem(value: unknown): string | undefined {
  if (typeof value !== "string") {
    return BUDGET_PERIOD_ALLOWED;
  }
  const match = BUDGET_PERIOD.exec(value);
  if (match) {
    const [, count, unit] = match;
    if (unit === undefined || Number(count) <= BUDGET_PERIOD_MAX[unit]) {
      return undefined;
    }
    if (unit === "h") {
      return `LiteLLM aligns hours to the clock within a day, so "${value}" would not mean ${count} hours; use days (Nd)`;
    }
    return `is longer than ten years; ${BUDGET_PERIOD_ALLOWED}`;
  }
  if (/^[0-9]+mo$/.test(value)) {
    return "LiteLLM resets monthly budgets only every month: use 1mo (or 30d, which also resets on the 1st)";
  }
  if (/^[0-9]+[ms]$/.test(value)) {
    return `is minutes or seconds: a cap that resets that often limits nothing (months are 1mo); ${BUDGET_PERIOD_ALLOWED}`;
  }
  return BUDGET_PERIOD_ALLOWED;
}

/** A consumer of the gateway's API (an agent, a CI job, an IDE) with its own key. */
export interface KeyConsumer {
  /** Unique name; the key's alias in LiteLLM is `${namePrefix}-${name}`. */
  readonly name: string;
  /** Models the key may use. Default: all. */
  readonly models?: readonly string[];
  /** A budget profile (test, prod, unlimited) for this key. Default: the gateway's budget. */
  readonly budget?: BudgetName;
  /** Spending cap in US dollars; instead of `budget`. */
  readonly maxBudget?: number;
  /** Reset period for maxBudget, e.g. "30d". Default "30d". */
  readonly budgetDuration?: string;
  /** Requests and tokens per minute. Default: no limit. */
  readonly rpmLimit?: number;
  readonly tpmLimit?: number;
}

/** One key as LiteLLM's /key/generate and /key/update know it. */
export interface KeyRecord {
  readonly alias: string;
  readonly models: string[];
  readonly max_budget: number | null;
  readonly budget_duration: string | null;
  readonly rpm_limit: number | null;
  readonly tpm_limit: number | null;
}

/** Used when apiKeys is not set: one key for agents, separate from Open WebUI's. */
export const DEFAULT_CONSUMERS: readonly KeyConsumer[] = [{ name: "agents" }];

const NAME = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const FIELDS = ["name", "models", "budget", "maxBudget", "budgetDuration", "rpmLimit", "tpmLimit"];

/** The highest rpm/tpm limit accepted: well above any provider's, low enough to catch a typo. */
const MAX_LIMIT = 100_000_000;

/** Validates the `apiKeys` setting: a list of consumers with unique names and sane limits. */
export function consumers(key: string, value: unknown): KeyConsumer[] {
  const shape = 'must be a list of {"name": ..., "models"?, "budget"? | "maxBudget"?, "budgetDuration"?, "rpmLimit"?, "tpmLimit"?}';
  const seen = new Set<string>();
  return recordList(key, value, shape, FIELDS, "key").map(({ where, fields: e }): KeyConsumer => {
    if (typeof e.name !== "string" || e.name.length === 0) {
      throw new SettingError(`${where}.name`, shown(e.name), "must be a non-empty name such as ci-agent");
    }
    if (!NAME.test(e.name)) {
      throw new SettingError(
        `${where}.name`,
        shown(e.name),
        "must be 1-40 lowercase letters, digits or '-', not starting or ending with '-'",
      );
    }
    if (e.name === OPEN_WEBUI_CONSUMER) {
      throw new SettingError(
        `${where}.name`,
        shown(e.name),
        "is Open WebUI's own key, which the gateway always creates; choose another name",
      );
    }
    uniqueName(where, e.name, seen, "key");
    const consumer: { -readonly [K in keyof KeyConsumer]: KeyConsumer[K] } = { name: e.name };
    if (e.models !== undefined) {
      if (!Array.isArray(e.models) || !e.models.every((m) => typeof m === "string" && m.length > 0)) {
        throw new SettingError(`${where}.models`, shown(e.models), "must be a list of model names (empty or absent: all models)");
      }
      consumer.models = e.models as string[];
    }
    if (e.budget !== undefined && e.maxBudget !== undefined) {
      throw new SettingError(`${where}.budget`, shown(e.budget), "cannot be combined with maxBudget; give one or the other");
    }
    if (e.budget !== undefined) {
      if (typeof e.budget !== "string" || !(BUDGET_NAMES as string[]).includes(e.budget)) {
        throw new SettingError(`${where}.budget`, shown(e.budget), `must be one of ${BUDGET_NAMES.join(", ")}`);
      }
      consumer.budget = e.budget as BudgetName;
    }
    if (e.maxBudget !== undefined) {
      if (typeof e.maxBudget !== "number" || !Number.isFinite(e.maxBudget) || e.maxBudget < 0) {
        throw new SettingError(`${where}.maxBudget`, shown(e.maxBudget), "must be a number of US dollars, 0 or more");
      }
      consumer.maxBudget = e.maxBudget;
    }
    if (e.budgetDuration !== undefined) {
      const problem = budgetPeriodProblem(e.budgetDuration);
      if (problem !== undefined) {
        throw new SettingError(`${where}.budgetDuration`, shown(e.budgetDuration), problem);
      }
      if (e.maxBudget === undefined) {
        throw new SettingError(
          `${where}.budgetDuration`,
          shown(e.budgetDuration),
          "only applies with maxBudget (a budget profile has its own period)",
        );
      }
      consumer.budgetDuration = e.budgetDuration as string;
    }
    for (const limit of ["rpmLimit", "tpmLimit"]) {
      // LiteLLM takes 0 (GenerateKeyRequest: `Field(ge=0)`), and its limiter then refuses every request.
      if (e[limit] === 0) {
        throw new SettingError(`${where}.${limit}`, "0", "would make LiteLLM refuse every request; leave it out for no limit");
      }
    }
    if (e.rpmLimit !== undefined) {
      consumer.rpmLimit = positiveInteger(`${where}.rpmLimit`, e.rpmLimit, "requests per minute", MAX_LIMIT);
    }
    if (e.tpmLimit !== undefined) {
      consumer.tpmLimit = positiveInteger(`${where}.tpmLimit`, e.tpmLimit, "tokens per minute", MAX_LIMIT);
    }
    return consumer;
  });
}

/** Supplied key values must belong to declared keys (Open WebUI's or an apiKeys name). */
export function suppliedKeyNames(key: string, names: readonly string[], consumerNames: readonly string[]): void {
  const declared = [OPEN_WEBUI_CONSUMER, ...consumerNames];
  const unknown = names.find((name) => !declared.includes(name));
  if (unknown !== undefined) {
    throw new SettingError(`${key}.${unknown}`, "[secret]", `names no declared key; declared: ${declared.join(", ")}`);
  }
}

const SUPPLIED_KEY = new RegExp(`^sk-[A-Za-z0-9_-]{${Math.max(LITELLM_MIN_CUSTOM_KEY_LENGTH, 32) - 3},}$`);

/** Validates user-supplied key values (the `apiKeyValues` secret): LiteLLM's rules, and one value per key. */
export function suppliedKeyValues(key: string, value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SettingError(key, "[secret]", "must be a map of key name to key value");
  }
  const values: Record<string, string> = {};
  const used = new Set<string>();
  for (const [name, v] of Object.entries(value)) {
    if (typeof v !== "string") {
      throw new SettingError(`${key}.${name}`, "[secret]", "must be a string");
    }
    if (!v.startsWith("sk-")) {
      throw new SettingError(`${key}.${name}`, shownSecret(v), 'must start with "sk-" (LiteLLM refuses other virtual keys)');
    }
    // Letters, digits, '_' and '-' only: the key is printed inside a shell command
    // (apiForAgents.exampleCurl) and a YAML file; generated keys (sk- + 48 letters and digits) and
    // LiteLLM's own (sk- + token_urlsafe) use no other characters.
    if (!SUPPLIED_KEY.test(v)) {
      throw new SettingError(
        `${key}.${name}`,
        shownSecret(v),
        "must be sk- followed by at least 29 letters, digits, '_' or '-' (LiteLLM's own minimum is 16 characters)",
      );
    }
    if (used.has(v)) {
      throw new SettingError(`${key}.${name}`, shownSecret(v), "is the same value as another key; every consumer needs its own key");
    }
    used.add(v);
    values[name] = v;
  }
  return values;
}

/** The record LiteLLM should hold for a consumer's key. */
export function keyRecord(alias: string, consumer: KeyConsumer, gatewayBudget: BudgetProfile): KeyRecord {
  const profile = consumer.budget ? BUDGETS[consumer.budget] : consumer.maxBudget === undefined ? gatewayBudget : undefined;
  return {
    alias,
    models: [...(consumer.models ?? [])].sort(),
    max_budget: profile ? profile.maxBudgetUsd : consumer.maxBudget!,
    budget_duration: profile ? profile.budgetDuration : (consumer.budgetDuration ?? "30d"),
    rpm_limit: consumer.rpmLimit ?? null,
    tpm_limit: consumer.tpmLimit ?? null,
  };
}
