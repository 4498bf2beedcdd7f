/**
 * Ephemeral (preview) stacks beside permanent ones on one Docker host: host ports derived from the
 * stack's name that keep off every permanent stack's, and the preview's time to live. Pure: the
 * program's edge (index.ts) reads the stack name and the sibling stack files and hands them in.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { DURATION_FORMS, durationMs } from "./durations";
import { SettingError, shown } from "./errors";
import { DEFAULTS } from "./settings";

/**
 * Where derived ports live: the public listener in 20000-29999 and the admin listener exactly
 * 10000 above it, so a preview's two ports are read as a pair (pr-1: 2xxxx and 3xxxx).
 */
export const PREVIEW_PORTS = { httpBase: 20000, adminOffset: 10000, slots: 10000 } as const;

/** How long a preview stack lives when the stack does not say (`previewTtl`). */
export const DEFAULT_PREVIEW_TTL = "24h";

/** The settings this module reads from a stack's arguments. */
export interface PreviewSettingsInput {
  readonly ephemeral?: boolean;
  readonly vps?: boolean;
  readonly dockerHost?: string;
  readonly httpPort?: number;
  readonly adminPort?: number;
  readonly tls?: boolean;
  readonly httpsPort?: number;
  /** How long the preview stack lives before the sweep destroys it, e.g. `12h`; ephemeral stacks only. Default `24h`. */
  readonly previewTtl?: string;
}

/** A stack file of the project directory, as read from disk: its file name and its text. */
export interface StackFile {
  readonly file: string;
  readonly text: string;
}

/** A permanent stack of the project directory and the host ports it publishes. */
export interface PermanentStack {
  readonly stack: string;
  readonly file: string;
  readonly dockerHost: string;
  readonly ports: readonly number[];
}

/** The stack a `Pulumi.<stack>.yaml` file belongs to; undefined for Pulumi.yaml and other files. */
export function stackOfFile(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1];
}

/** A stack file's value for a project setting: `ai-gateway:key`, or a bare `key` (the project's namespace). */
function settingIn(config: Record<string, unknown>, project: string, key: string): unknown {
  return config[`${project}:${key}`] ?? config[key];
}

/** YAML true or the string "true" (as `pulumi config set` writes it). */
function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

/** A whole number written as a YAML number or a string; undefined otherwise (that stack's own run refuses it). */
function portValue(value: unknown): number | undefined {
  const n = typeof value === "string" && /^[0-9]+$/.test(value) ? Number(value) : value;
  return typeof n === "number" && Number.isInteger(n) ? n : undefined;
}

/**
 * The permanent stacks among the project's stack files: those without `ephemeral: true`, deployed
 * to a Docker host (not `vps`, whose server is its own), leaving out the stack being run. Their
 * ports are the ones they set or the defaults (and the HTTPS port with `tls`).
 */
export function permanentStacks(files: readonly StackFile[], project: string, currentStack: string): PermanentStack[] {
  const stacks: PermanentStack[] = [];
  for (const { file, text } of files) {
    const stack = stackOfFile(file);
    if (stack === undefined || stack === currentStack) {
      continue;
    }
    let document: unknown;
    try {
      document = parse(text);
    } catch (e) {
      const reason = (e as Error).message.split("\n")[0];
      throw new pulumi.RunError(`Cannot read ${file} (needed to keep this ephemeral stack's ports off the permanent stacks'): ${reason}`);
    }
    const config = ((document as { config?: unknown } | null)?.config ?? {}) as Record<string, unknown>;
    if (isTrue(settingIn(config, project, "ephemeral")) || isTrue(settingIn(config, project, "vps"))) {
      continue;
    }
    const dockerHost = settingIn(config, project, "dockerHost");
    const ports = [
      portValue(settingIn(config, project, "httpPort") ?? DEFAULTS.httpPort),
      portValue(settingIn(config, project, "adminPort") ?? DEFAULTS.adminPort),
      isTrue(settingIn(config, project, "tls")) ? portValue(settingIn(config, project, "httpsPort") ?? DEFAULTS.httpsPort) : undefined,
    ].filter((p): p is number => p !== undefined);
    stacks.push({ stack, file, dockerHost: typeof dockerHost === "string" ? dockerHost : DEFAULTS.dockerHost, ports });
  }
  return stacks;
}

/**
 * The ports derived from a stack's name: a sha256 of the name picks a slot (0-9999), the public
 * listener is 20000 + slot and the admin listener 30000 + slot; a slot whose port is `taken` gives
 * way to the next one (wrapping round), so the same name and the same permanent stacks always
 * give the same ports.
 */
export function derivedPorts(stack: string, taken: ReadonlySet<number>): { httpPort: number; adminPort: number } {
  const first = parseInt(createHash("sha256").update(stack).digest("hex").slice(0, 8), 16) % PREVIEW_PORTS.slots;
  for (let step = 0; step < PREVIEW_PORTS.slots; step++) {
    const httpPort = PREVIEW_PORTS.httpBase + ((first + step) % PREVIEW_PORTS.slots);
    const adminPort = httpPort + PREVIEW_PORTS.adminOffset;
    if (!taken.has(httpPort) && !taken.has(adminPort)) {
      return { httpPort, adminPort };
    }
  }
  throw new Error(`derivedPorts: every one of the ${PREVIEW_PORTS.slots} port pairs is taken`);
}

/** Where an ephemeral stack runs: its name, its project, and the stack files beside it. */
export interface PreviewContext {
  readonly stack: string;
  readonly project: string;
  readonly stackFiles: readonly StackFile[];
}

/**
 * Checks the preview settings and fills in an ephemeral stack's ports: `previewTtl` must be a
 * positive duration on an ephemeral stack; an ephemeral stack on a Docker host (not `vps`) gets
 * ports derived from its name where it sets none (derivedPorts, keeping off the permanent stacks
 * on the same host), and a port it fixes must not be a permanent stack's there. Returns the
 * arguments without `previewTtl` (which is for the preview-stack tool, not for the Gateway).
 */
export function withPreviewSettings<T extends PreviewSettingsInput>(
  args: T,
  context: PreviewContext,
): Omit<T, "previewTtl"> & { readonly httpPort?: number; readonly adminPort?: number } {
  const { previewTtl, ...rest } = args;
  if (previewTtl !== undefined) {
    if (typeof previewTtl !== "string" || durationMs(previewTtl) === undefined) {
      throw new SettingError("previewTtl", shown(previewTtl), `must be ${DURATION_FORMS}`);
    }
    if (args.ephemeral !== true) {
      throw new SettingError(
        "previewTtl",
        shown(previewTtl),
        "only applies to an ephemeral stack (ephemeral: true): a permanent stack is never swept",
      );
    }
  }
  if (args.ephemeral !== true || args.vps === true) {
    return rest;
  }
  const dockerHost = args.dockerHost ?? DEFAULTS.dockerHost;
  const neighbours = permanentStacks(context.stackFiles, context.project, context.stack).filter((s) => s.dockerHost === dockerHost);
  const fixed: [string, number | undefined][] = [
    ["httpPort", args.httpPort],
    ["adminPort", args.adminPort],
    ["httpsPort", args.tls === true ? (args.httpsPort ?? DEFAULTS.httpsPort) : undefined],
  ];
  for (const [key, port] of fixed) {
    const owner = neighbours.find((s) => port !== undefined && s.ports.includes(port));
    if (owner) {
      throw new SettingError(
        key,
        shown(port),
        `is a port of permanent stack ${owner.stack} (${owner.file}) on the same Docker host; ${
          key === "httpsPort" ? "choose another httpsPort" : `unset ${key} on this ephemeral stack to get one derived from its name`
        }`,
      );
    }
  }
  if (args.httpPort !== undefined && args.adminPort !== undefined) {
    return rest;
  }
  const taken = new Set(neighbours.flatMap((s) => s.ports));
  for (const [, port] of fixed) {
    if (port !== undefined) {
      taken.add(port);
    }
  }
  const derived = derivedPorts(context.stack, taken);
  return { ...rest, httpPort: args.httpPort ?? derived.httpPort, adminPort: args.adminPort ?? derived.adminPort };
}
