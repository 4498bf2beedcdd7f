/**
 * The pure part of `npm run preview-stack` (tools/previewStack.ts): its command line, the stack
 * tags it keeps, and which preview stacks a sweep takes down. No I/O here.
 */
import { SETTINGS } from "../lib/config";
import { DURATION_FORMS, durationMs } from "../lib/durations";
import { DEFAULT_PREVIEW_TTL } from "../lib/previewStacks";

/** The tags every preview stack carries; `down` and `sweep` touch only stacks tagged `preview=true`. */
export const PREVIEW_TAGS = {
  preview: "ai-gateway:preview",
  created: "ai-gateway:created",
  ttl: "ai-gateway:ttl",
} as const;

/** How the tool is used, printed with --help and after a usage error's line. */
export const USAGE = [
  "usage: npm run preview-stack -- <command>",
  "  up NAME [--set key=value]... [--secrets-provider URL] [--policy-pack DIR]... [--policy-pack-config FILE]...",
  "                                                          create NAME from Pulumi.preview.yaml if missing, apply the --set values, pulumi up (with the policy packs)",
  "  smoke NAME [smoke options]                              npm run smoke -- --stack NAME [smoke options]",
  "  down NAME                                               destroy and remove a preview stack",
  "  sweep [--older-than DURATION] [--dry-run]               down every preview stack older than its TTL (or DURATION)",
  "NAME: lower-case letters, digits and '-', starting with a letter or digit, at most 40 characters (e.g. pr-123)",
].join("\n");

/** A command line the tool refuses; the message is one line, and the tool exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A parsed command line. */
export type PreviewCommand =
  | {
      readonly kind: "up";
      readonly name: string;
      /** Project settings to set on the stack, in the order given: [key, value]. */
      readonly settings: readonly (readonly [string, string])[];
      /** The secrets provider of a stack created now (`pulumi stack init --secrets-provider`). */
      readonly secretsProvider?: string;
      /** Policy packs the `up` runs (`pulumi up --policy-pack`), e.g. policy/, and their config files. */
      readonly policyPacks: readonly string[];
      readonly policyPackConfigs: readonly string[];
    }
  | { readonly kind: "smoke"; readonly name: string; readonly smokeArgs: readonly string[] }
  | { readonly kind: "down"; readonly name: string }
  | { readonly kind: "sweep"; readonly olderThanMs?: number; readonly dryRun: boolean }
  | { readonly kind: "help" };

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** A preview stack's name: what a Docker name, a stack name and a URL all accept. */
export function stackName(value: string | undefined): string {
  if (value === undefined || !NAME.test(value)) {
    throw new UsageError(
      `preview-stack: stack name ${JSON.stringify(value ?? "")} is not allowed: lower-case letters, digits and '-', starting with a letter or digit, at most 40 characters (e.g. pr-123)`,
    );
  }
  return value;
}

/** One `--set key=value`: a plain project setting; secrets and `ephemeral` are refused. */
function setting(text: string | undefined): [string, string] {
  const eq = text?.indexOf("=") ?? -1;
  if (text === undefined || eq <= 0) {
    throw new UsageError(
      `preview-stack: --set ${JSON.stringify(text ?? "")} must be key=value, e.g. --set dockerHost=unix:///var/run/docker.sock`,
    );
  }
  const key = text.slice(0, eq);
  const declaration = (SETTINGS as Record<string, { secret?: boolean } | undefined>)[key];
  if (!declaration) {
    throw new UsageError(`preview-stack: --set ${key}: is not a setting of ai-gateway (README: Configuration reference)`);
  }
  if (declaration.secret) {
    throw new UsageError(
      `preview-stack: --set ${key}: is a secret, which a command line would show: set it with pulumi config set --secret --stack NAME`,
    );
  }
  if (key === "ephemeral") {
    throw new UsageError("preview-stack: --set ephemeral: a preview stack is always ephemeral (Pulumi.preview.yaml)");
  }
  return [key, text.slice(eq + 1)];
}

/** A duration option's value in milliseconds (DURATION_FORMS). */
function duration(option: string, text: string | undefined): number {
  const ms = text === undefined ? undefined : durationMs(text);
  if (ms === undefined) {
    throw new UsageError(`preview-stack: ${option} ${JSON.stringify(text ?? "")} must be ${DURATION_FORMS}`);
  }
  return ms;
}

/** Parses the arguments after `npm run preview-stack --`; throws UsageError on anything else. */
export function parseCommand(argv: readonly string[]): PreviewCommand {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h":
      return { kind: "help" };
    case "up": {
      const name = stackName(rest[0]);
      const settings: [string, string][] = [];
      let secretsProvider: string | undefined;
      const policyPacks: string[] = [];
      const policyPackConfigs: string[] = [];
      for (let i = 1; i < rest.length; i += 2) {
        const value = rest[i + 1];
        if (rest[i] === "--set") {
          settings.push(setting(value));
        } else if (rest[i] === "--secrets-provider" && value !== undefined) {
          secretsProvider = value;
        } else if (rest[i] === "--policy-pack" && value !== undefined) {
          policyPacks.push(value);
        } else if (rest[i] === "--policy-pack-config" && value !== undefined) {
          policyPackConfigs.push(value);
        } else {
          throw new UsageError(
            `preview-stack: up: unknown argument ${JSON.stringify(rest[i])}; allowed: --set key=value, --secrets-provider URL, --policy-pack DIR, --policy-pack-config FILE`,
          );
        }
      }
      if (policyPackConfigs.length > policyPacks.length) {
        throw new UsageError("preview-stack: up: --policy-pack-config needs a --policy-pack for each config file");
      }
      return {
        kind: "up",
        name,
        settings,
        ...(secretsProvider !== undefined ? { secretsProvider } : {}),
        policyPacks,
        policyPackConfigs,
      };
    }
    case "smoke":
      return { kind: "smoke", name: stackName(rest[0]), smokeArgs: rest.slice(1) };
    case "down":
      if (rest.length !== 1) {
        throw new UsageError(`preview-stack: down takes one stack name, not ${rest.length}`);
      }
      return { kind: "down", name: stackName(rest[0]) };
    case "sweep": {
      let olderThanMs: number | undefined;
      let dryRun = false;
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === "--dry-run") {
          dryRun = true;
        } else if (rest[i] === "--older-than") {
          olderThanMs = duration("--older-than", rest[++i]);
        } else {
          throw new UsageError(
            `preview-stack: sweep: unknown argument ${JSON.stringify(rest[i])}; allowed: --older-than DURATION, --dry-run`,
          );
        }
      }
      return { kind: "sweep", ...(olderThanMs !== undefined ? { olderThanMs } : {}), dryRun };
    }
    default:
      throw new UsageError(`preview-stack: unknown command ${JSON.stringify(command)}; commands: up, smoke, down, sweep`);
  }
}

/** The tags a preview stack is created with: `created` is `now`, `ttl` its previewTtl. */
export function creationTags(now: Date, ttl: string): Record<string, string> {
  return { [PREVIEW_TAGS.preview]: "true", [PREVIEW_TAGS.created]: now.toISOString(), [PREVIEW_TAGS.ttl]: ttl };
}

/** True when a stack's tags make it a preview stack (the only stacks down and sweep touch). */
export function isPreviewStack(tags: Readonly<Record<string, string>>): boolean {
  return tags[PREVIEW_TAGS.preview] === "true";
}

/** A stack and its tags, as the backend lists them. */
export interface TaggedStack {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** What a sweep does with one preview stack. */
export interface SweepEntry {
  readonly name: string;
  /** Age in ms (since the created tag); undefined when the stack cannot be dated. */
  readonly ageMs?: number;
  /** The age at which it goes (its TTL, or --older-than); undefined when unknown. */
  readonly limitMs?: number;
  /** Why it is kept or skipped (cannot be dated, unreadable TTL), for the table. */
  readonly note?: string;
}

/** A sweep's plan: preview stacks to take down, to keep, and to leave with a reason. */
export interface SweepPlan {
  readonly expired: readonly SweepEntry[];
  readonly kept: readonly SweepEntry[];
  readonly skipped: readonly SweepEntry[];
}

/**
 * Which preview stacks a sweep takes down at `now`: those whose age (since their created tag) has
 * reached `olderThanMs`, or else their own TTL tag (DEFAULT_PREVIEW_TTL when there is none).
 * Stacks not tagged as previews are not considered at all; a preview whose created or ttl tag
 * cannot be read is skipped, never taken down on a guess.
 */
export function sweepPlan(stacks: readonly TaggedStack[], now: Date, olderThanMs?: number): SweepPlan {
  const expired: SweepEntry[] = [];
  const kept: SweepEntry[] = [];
  const skipped: SweepEntry[] = [];
  for (const { name, tags } of stacks.filter((s) => isPreviewStack(s.tags))) {
    const created = tags[PREVIEW_TAGS.created];
    const createdMs = created !== undefined && /^\d{4}-\d\d-\d\dT/.test(created) ? Date.parse(created) : NaN;
    if (Number.isNaN(createdMs)) {
      skipped.push({ name, note: `no readable ${PREVIEW_TAGS.created} tag (${JSON.stringify(created ?? "")})` });
      continue;
    }
    const ageMs = now.getTime() - createdMs;
    const ttl = tags[PREVIEW_TAGS.ttl] ?? DEFAULT_PREVIEW_TTL;
    const limitMs = olderThanMs ?? durationMs(ttl);
    if (limitMs === undefined) {
      skipped.push({ name, ageMs, note: `unreadable ${PREVIEW_TAGS.ttl} tag (${JSON.stringify(ttl)})` });
      continue;
    }
    (ageMs >= limitMs ? expired : kept).push({ name, ageMs, limitMs });
  }
  const byName = (a: SweepEntry, b: SweepEntry) => a.name.localeCompare(b.name);
  return { expired: expired.sort(byName), kept: kept.sort(byName), skipped: skipped.sort(byName) };
}

/** A duration for people: `3d 4h`, `2h 5m`, `7m`, `0m`. */
export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  const [d, h, m] = [Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60];
  if (d > 0) {
    return `${d}d ${h}h`;
  }
  return h > 0 ? `${h}h ${m}m` : `${m}m`;
}

/** The Docker label that marks every container, network and volume of stack `name` (index.ts names the gateway `ai-gateway`). */
export function gatewayLabel(name: string): string {
  return `ai-gateway.gateway=ai-gateway-${name}`;
}

/** A Docker object a stack's state records: what `down` makes sure is gone. */
export interface DockerObject {
  readonly kind: "container" | "network" | "volume";
  readonly name: string;
}

const DOCKER_KINDS: Readonly<Record<string, DockerObject["kind"]>> = {
  "docker:index/container:Container": "container",
  "docker:index/network:Network": "network",
  "docker:index/volume:Volume": "volume",
};

/**
 * The containers, networks and volumes in a stack's exported state (`pulumi stack export`), by
 * their Docker names. The data volumes carry no label, so their names are how down finds them.
 */
export function dockerObjectsInState(deployment: unknown): DockerObject[] {
  const resources = ((deployment as { resources?: unknown[] } | undefined)?.resources ?? []) as {
    type?: string;
    outputs?: { name?: unknown };
    inputs?: { name?: unknown };
  }[];
  const objects: DockerObject[] = [];
  for (const r of resources) {
    const kind = DOCKER_KINDS[r.type ?? ""];
    const name = r.outputs?.name ?? r.inputs?.name;
    if (kind !== undefined && typeof name === "string") {
      objects.push({ kind, name });
    }
  }
  return objects.sort((a, b) => `${a.kind} ${a.name}`.localeCompare(`${b.kind} ${b.name}`));
}

/** The Docker host a stack's docker provider connects to, from its exported state; undefined when none is recorded. */
export function dockerHostInState(deployment: unknown): string | undefined {
  const resources = ((deployment as { resources?: unknown[] } | undefined)?.resources ?? []) as {
    type?: string;
    inputs?: { host?: unknown };
  }[];
  const host = resources.find((r) => r.type === "pulumi:providers:docker" && typeof r.inputs?.host === "string")?.inputs?.host;
  return typeof host === "string" ? host : undefined;
}
