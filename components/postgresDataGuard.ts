import * as pulumi from "@pulumi/pulumi";
import { postgresDataImage, postgresImageRefusal } from "../lib/imagePins";

/** What the guard keeps: the pin of the image that owns the data volume, and what it says. */
export interface PostgresDataGuardState {
  /** The setting the pin comes from, for the refusal's wording (`postgresImage`). */
  readonly setting: string;
  /** The pinned image. */
  readonly image: string;
  /** PostgreSQL's major version (absent for a digest-only pin). */
  readonly major?: number;
  /** The collation family's release: `trixie`, `bookworm`, `alpine`, ... (absent for a digest-only pin). */
  readonly os?: string;
  /** `glibc`, `musl` or `unknown` (absent for a digest-only pin). */
  readonly libc?: string;
}

/**
 * How long a refusal waits before it is returned. The engine stops the deployment at a failed
 * check, and a component of the program that is still sending its outputs then fails with an
 * unhandled "resource monitor shut down" and a stack trace below the refusal. Everything that does
 * not wait for the guard is registered by then; what waits for it is never sent. The guard is the
 * program's first resource, so this counts from the program's start: 5 s was too short for a
 * medium-sized program on a loaded 2-core machine (measured: the trace came back), hence 15 s, a
 * wait paid only by a refused change.
 */
export const REFUSAL_SETTLE_MS = 15000;

function recorded(setting: string, image: string): PostgresDataGuardState {
  return { setting, ...postgresDataImage(image) };
}

/**
 * Refuses, in `check`, a PostgreSQL image that cannot open the data volume safely: `check` runs
 * for every resource before any step, in `pulumi preview` as in `pulumi up`, so a refused pin fails
 * both before anything changes, with the reason on one line. On create (a new stack, or a stack
 * deployed before the guard existed) there is nothing to compare with: the pin is recorded. Its
 * inputs are its state; nothing on the Docker host is touched.
 */
export const postgresDataGuardProvider: pulumi.dynamic.ResourceProvider = {
  async check(olds: Partial<PostgresDataGuardState>, news: PostgresDataGuardState): Promise<pulumi.dynamic.CheckResult> {
    const inputs = recorded(news.setting, news.image);
    if (olds.image === undefined || olds.image === news.image) {
      return { inputs };
    }
    const refusal = postgresImageRefusal(news.setting, olds.image, news.image);
    if (refusal === undefined) {
      return { inputs };
    }
    await new Promise((resolve) => setTimeout(resolve, REFUSAL_SETTLE_MS));
    // No property: the CLI then prints "resource '<name>' has a problem: <reason>", one line.
    return { inputs, failures: [{ property: "", reason: refusal }] };
  },
  async diff(_id: string, olds: PostgresDataGuardState, news: PostgresDataGuardState): Promise<pulumi.dynamic.DiffResult> {
    return { changes: JSON.stringify(recorded(olds.setting, olds.image)) !== JSON.stringify(recorded(news.setting, news.image)) };
  },
  async create(inputs: PostgresDataGuardState): Promise<pulumi.dynamic.CreateResult> {
    return { id: "postgres-data-image", outs: recorded(inputs.setting, inputs.image) };
  },
  async update(_id: string, _olds: PostgresDataGuardState, news: PostgresDataGuardState): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: recorded(news.setting, news.image) };
  },
  async delete(): Promise<void> {},
};

export interface PostgresDataGuardArgs {
  /** The pinned PostgreSQL image of this run (lib/validation.ts pinnedImage). Required. */
  readonly image: string;
  /** The setting it comes from, named in the refusal. Default "postgresImage". */
  readonly setting?: string;
}

/**
 * The PostgreSQL image that owns the data volume, kept in the stack's state. Register it before
 * the PostgreSQL container and make the container depend on it: a change of major version (16 ->
 * 17) or of the collation's OS (another Debian release, glibc <-> musl) on an existing stack then
 * fails `pulumi preview` and `pulumi up` with one line, before anything is replaced. A minor bump
 * or a new digest of the same tag passes.
 */
export class PostgresDataGuard extends pulumi.dynamic.Resource {
  /** PostgreSQL's major version of the image that owns the data (undefined for a digest-only pin). */
  declare public readonly major: pulumi.Output<number | undefined>;
  /** The collation family's release of that image: `trixie`, `bookworm`, `alpine`, ... */
  declare public readonly os: pulumi.Output<string | undefined>;
  declare public readonly libc: pulumi.Output<string | undefined>;
  declare public readonly image: pulumi.Output<string>;

  constructor(name: string, args: PostgresDataGuardArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      postgresDataGuardProvider,
      name,
      { setting: args.setting ?? "postgresImage", image: args.image, major: undefined, os: undefined, libc: undefined },
      opts,
      "ai-gateway",
      "PostgresDataGuard",
    );
  }
}
