/**
 * Checks a --policy-pack-config file before a preview uses it: the Pulumi CLI refuses an unknown
 * enforcement level, but without naming the levels it accepts, and silently ignores a policy name
 * the pack does not have (pulumi 3.274.1, tests/e2e/policy.test.ts), so a misspelt override
 * would quietly leave a policy at its default level. checkConfig.ts runs this from the command
 * line (`npm run policy:check-config -- <file>`), as the workflows do.
 */
import { isIpv4 } from "../lib/validation";
import { ENFORCEMENT_LEVELS, POLICY_NAMES } from "./policies";

/** The key that sets every policy's level at once (reserved by @pulumi/policy). */
export const ALL_POLICIES = "all";

/** A refused policy-pack config: one line naming the entry, the value and what is allowed. */
export class PolicyConfigError extends Error {
  constructor(entry: string, value: unknown, allowed: string) {
    super(`Invalid policy pack config ${entry} = ${JSON.stringify(value)}: ${allowed}`);
    this.name = "PolicyConfigError";
  }
}

const LEVELS = `must be one of ${ENFORCEMENT_LEVELS.join(", ")}`;

/** Settings each policy takes besides enforcementLevel, and how to check one. */
const POLICY_SETTINGS: Readonly<Record<string, Readonly<Record<string, (entry: string, value: unknown) => void>>>> = {
  "host-ports-reverse-proxy-only": {
    adminBindAllowList: (entry, value) => {
      if (!Array.isArray(value) || value.some((item) => typeof item !== "string" || !isIpv4(item))) {
        throw new PolicyConfigError(entry, value, 'must be a list of IPv4 addresses, e.g. ["10.8.0.1"]');
      }
    },
  },
};

/**
 * Checks a parsed config file: an object whose keys are the pack's policy names (or "all"), each
 * an enforcement level or an object with an optional enforcementLevel and the policy's settings.
 * Returns the names of the policies it configures; throws PolicyConfigError on the first problem.
 */
export function checkPolicyConfig(config: unknown, policyNames: readonly string[] = POLICY_NAMES): string[] {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new PolicyConfigError("(the file)", config, 'must be a JSON object of policy names, e.g. {"images-pinned": "advisory"}');
  }
  for (const [name, setting] of Object.entries(config)) {
    if (name !== ALL_POLICIES && !policyNames.includes(name)) {
      throw new PolicyConfigError(
        name,
        setting,
        `the pack has no such policy; its policies are ${policyNames.join(", ")} (or ${ALL_POLICIES})`,
      );
    }
    if (typeof setting === "string") {
      checkLevel(`${name}`, setting);
      continue;
    }
    if (typeof setting !== "object" || setting === null || Array.isArray(setting)) {
      throw new PolicyConfigError(name, setting, `${LEVELS}, or an object with enforcementLevel and the policy's settings`);
    }
    for (const [key, value] of Object.entries(setting)) {
      const entry = `${name}.${key}`;
      if (key === "enforcementLevel") {
        checkLevel(entry, value);
        continue;
      }
      const check = POLICY_SETTINGS[name]?.[key];
      if (check === undefined) {
        const known = Object.keys(POLICY_SETTINGS[name] ?? {});
        throw new PolicyConfigError(
          entry,
          value,
          `${name} has no such setting; it takes enforcementLevel${known.map((k) => `, ${k}`).join("")}`,
        );
      }
      check(entry, value);
    }
  }
  return Object.keys(config);
}

function checkLevel(entry: string, value: unknown): void {
  if (typeof value !== "string" || !(ENFORCEMENT_LEVELS as readonly string[]).includes(value)) {
    throw new PolicyConfigError(entry, value, LEVELS);
  }
}
