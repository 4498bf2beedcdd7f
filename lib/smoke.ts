/**
 * The smoke test's pure parts (`npm run smoke`, tools/smoke.ts): its command line, the comparison
 * of what a stack declares for a virtual key with what LiteLLM's /key/info reports, the table a
 * person reads, and the exit code. The HTTP checks are in lib/smokeChecks.ts.
 */
import { createHash } from "crypto";
import { isLoopbackHost } from "./dockerHost";
import { KeyRecord } from "./virtualKeys";

/** PASS, FAIL, or SKIP (not run, the detail says why). */
export type CheckResult = "PASS" | "FAIL" | "SKIP";

/** One row of the smoke test's table. The detail never holds a secret. */
export interface CheckRow {
  readonly check: string;
  readonly result: CheckResult;
  readonly detail: string;
}

/** What `npm run smoke -- ...` was asked to do. */
export interface SmokeOptions {
  /** The stack whose outputs say what to check. */
  readonly stack: string;
  /** Origin to reach the public listener at instead of the stack's (e.g. an ssh tunnel's). */
  readonly publicUrl?: string;
  /** Origin to reach the admin listener at instead of the stack's (e.g. an ssh tunnel's). */
  readonly adminUrl?: string;
  /** Leave out `pulumi preview --expect-no-changes`. */
  readonly skipConvergence: boolean;
  /**
   * The stack's loopback listeners are forwarded to this machine's loopback on the same ports
   * (scripts/ci-docker-ssh.sh stack-tunnel, or the adminUiAccess output's tunnel), so its URLs may
   * be used as they are even when the Docker host is another machine.
   */
  readonly tunnelled: boolean;
}

/** Bad command line: exit code 2, one line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The one-line usage, quoted by every UsageError. */
export const SMOKE_USAGE = "usage: npm run smoke -- --stack NAME [--public-url URL] [--admin-url URL] [--tunnelled] [--skip-convergence]";

const ORIGIN = /^https?:\/\/[^/?#@\s]+\/?$/;

/** An `http(s)://host[:port]` origin, or a UsageError naming the option. */
function origin(option: string, value: string): string {
  if (!ORIGIN.test(value)) {
    throw new UsageError(`${option} ${JSON.stringify(value)}: must be an origin, http(s)://host[:port] without path; ${SMOKE_USAGE}`);
  }
  try {
    return new URL(value).origin;
  } catch {
    throw new UsageError(`${option} ${JSON.stringify(value)}: is not a valid URL; ${SMOKE_USAGE}`);
  }
}

/** Parses the arguments after `npm run smoke --`; throws UsageError on anything else. */
export function parseSmokeArgs(argv: readonly string[]): SmokeOptions {
  let stack: string | undefined;
  let publicUrl: string | undefined;
  let adminUrl: string | undefined;
  let skipConvergence = false;
  let tunnelled = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] =
      arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "" || (inline === undefined && v.startsWith("--"))) {
        throw new UsageError(`${name} needs a value; ${SMOKE_USAGE}`);
      }
      return v;
    };
    switch (name) {
      case "--stack":
        stack = value();
        break;
      case "--public-url":
        publicUrl = origin(name, value());
        break;
      case "--admin-url":
        adminUrl = origin(name, value());
        break;
      case "--skip-convergence":
      case "--tunnelled":
        if (inline !== undefined) {
          throw new UsageError(`${name} takes no value; ${SMOKE_USAGE}`);
        }
        if (name === "--tunnelled") {
          tunnelled = true;
        } else {
          skipConvergence = true;
        }
        break;
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(arg)}; ${SMOKE_USAGE}`);
    }
  }
  if (stack === undefined) {
    throw new UsageError(`--stack is required; ${SMOKE_USAGE}`);
  }
  return { stack, publicUrl, adminUrl, skipConvergence, tunnelled };
}

/**
 * Refuses (UsageError) to check a stack whose Docker host is another machine through a loopback
 * URL of its outputs, unless the listeners are tunnelled here or the URL is overridden: such a URL
 * names the Docker host's loopback, and on this machine whatever listens on that port would be
 * handed the virtual keys, or at the admin listener the master key.
 */
export function checkReachable(
  options: SmokeOptions,
  remoteDockerHost: string | undefined,
  urls: { readonly public: string; readonly admin: string },
): void {
  if (remoteDockerHost === undefined || options.tunnelled) {
    return;
  }
  const unreachable = [
    ["public", urls.public, options.publicUrl, "--public-url"],
    ["admin", urls.admin, options.adminUrl, "--admin-url"],
  ].filter(([, url, override]) => override === undefined && isLoopbackHost(new URL(url as string).hostname));
  if (unreachable.length > 0) {
    const [listener, url, , option] = unreachable[0];
    throw new UsageError(
      `stack ${options.stack} runs on ${remoteDockerHost}, and its ${listener} listener (${new URL(url as string).origin}) is that host's loopback: ` +
        `tunnel it here (scripts/ci-docker-ssh.sh stack-tunnel ${options.stack}, or the adminUiAccess output) and pass --tunnelled, or pass ${option}`,
    );
  }
}

/** `url` with its origin replaced by `newOrigin` (path and query kept); `url` itself without one. */
export function withOrigin(url: string, newOrigin: string | undefined): string {
  if (newOrigin === undefined) {
    return url;
  }
  const parsed = new URL(url);
  return `${newOrigin}${parsed.pathname}${parsed.search}`;
}

/**
 * What /key/info is asked with instead of the key: its SHA-256 in hex, which LiteLLM accepts
 * (proxy/utils.py:hash_token_if_needed hashes only values starting with "sk-") and recommends, so
 * the key stays out of URLs and access logs (info_key_fn's documentation, LiteLLM 1.110.1).
 */
export function keyInfoHash(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

const LIMITS = ["rpm_limit", "tpm_limit"] as const;

function shown(value: unknown): string {
  return value === undefined ? "absent" : JSON.stringify(value);
}

/**
 * How LiteLLM's record of a key (the `info` of GET /key/info) differs from the declared one: one
 * phrase per field, empty when they agree. Models are compared as sets (an empty list means all
 * models, on both sides); a key LiteLLM reports as anything but "active" differs too.
 */
export function keyInfoDifferences(declared: KeyRecord, info: unknown): string[] {
  if (typeof info !== "object" || info === null || Array.isArray(info)) {
    return [`LiteLLM's /key/info has no record (${shown(info)})`];
  }
  const actual = info as Record<string, unknown>;
  const differences: string[] = [];
  const differ = (field: string, want: unknown, got: unknown) => differences.push(`${field} ${shown(got)}, declared ${shown(want)}`);
  if (actual.status !== undefined && actual.status !== "active") {
    differences.push(`status ${shown(actual.status)}, not "active"`);
  }
  if (actual.key_alias !== declared.alias) {
    differ("key_alias", declared.alias, actual.key_alias);
  }
  const models = actual.models;
  const sameModels =
    Array.isArray(models) &&
    models.length === declared.models.length &&
    [...models].map(String).sort().join("\n") === [...declared.models].sort().join("\n");
  if (!sameModels) {
    differ("models", declared.models, models);
  }
  if (actual.max_budget !== declared.max_budget) {
    differ("max_budget", declared.max_budget, actual.max_budget);
  }
  if (actual.budget_duration !== declared.budget_duration) {
    differ("budget_duration", declared.budget_duration, actual.budget_duration);
  }
  for (const limit of LIMITS) {
    if ((actual[limit] ?? null) !== declared[limit]) {
      differ(limit, declared[limit], actual[limit]);
    }
  }
  return differences;
}

/** A short account of a declared key, for a passing row: budget, period, models and limits. */
export function describeKey(declared: KeyRecord): string {
  const budget = declared.max_budget === null ? "no budget" : `$${declared.max_budget}/${declared.budget_duration ?? "ever"}`;
  const models = declared.models.length === 0 ? "all models" : declared.models.join(", ");
  const limits = LIMITS.filter((l) => declared[l] !== null).map((l) => `${l.replace("_limit", "")} ${declared[l]}`);
  return [budget, models, ...limits].join("; ");
}

/** The table a person reads: a header, a rule, one line per check, columns padded to fit. */
export function renderTable(rows: readonly CheckRow[]): string {
  const header: CheckRow = { check: "CHECK", result: "RESULT" as CheckResult, detail: "DETAIL" };
  const width = Math.max(...[header, ...rows].map((r) => r.check.length));
  const line = (r: CheckRow) => `${r.check.padEnd(width)}  ${r.result.padEnd(6)}  ${r.detail}`.trimEnd();
  return [line(header), `${"-".repeat(width)}  ------  ------`, ...rows.map(line)].join("\n");
}

/** Exit code for the rows: 1 when a check failed or none ran, else 0 (skipped checks do not fail). */
export function smokeExitCode(rows: readonly CheckRow[]): 0 | 1 {
  return rows.some((r) => r.result === "FAIL") || !rows.some((r) => r.result === "PASS") ? 1 : 0;
}

/** The summary line under the table. */
export function summary(rows: readonly CheckRow[]): string {
  const count = (result: CheckResult) => rows.filter((r) => r.result === result).length;
  const verdict = smokeExitCode(rows) === 0 ? "smoke test passed" : "smoke test FAILED";
  return `${verdict}: ${count("PASS")} passed, ${count("FAIL")} failed, ${count("SKIP")} skipped`;
}
