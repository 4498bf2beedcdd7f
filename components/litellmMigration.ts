import * as pulumi from "@pulumi/pulumi";
import { containerImageId, EndpointState, endpointDeclaration, endpointOf, runOneShotContainer } from "../lib/dockerExec";
import { scrubSecrets } from "../lib/scrub";
import { DockerEndpointArgs, ENDPOINT_SECRET_OUTPUTS, endpointInputs } from "./dockerEndpoint";

/** LiteLLM's CLI option that runs its database setup and migrations, then exits (proxy/proxy_cli.py). */
export const SKIP_SERVER_STARTUP = "--skip_server_startup";
/** How long the migration may take: LiteLLM retries `prisma migrate deploy` 4 times with 5-15 s sleeps. */
export const MIGRATION_TIMEOUT_SECONDS = 900;
/** How much of the one-shot container's log a failure shows. */
const FAILURE_LOG_LINES = 20;
const FAILURE_MAX_CHARS = 2000;

/** What the step knows: where to run which image against which database, and the container it precedes. */
export interface LitellmMigrationState extends EndpointState {
  /** The pin, for messages. */
  readonly image: string;
  /** The pulled image's id (`sha256:...`): what the one-shot container runs, and what a new LiteLLM container will. */
  readonly imageId: string;
  /** LiteLLM's DATABASE_URL (secret). */
  readonly databaseUrl: string;
  /** The network PostgreSQL is on (the backend network). */
  readonly network: string;
  /** LiteLLM's container: on create, a migration runs only if it exists with another image. */
  readonly litellmContainer: string;
  /** The one-shot container's name. */
  readonly migrationContainer: string;
  /** The user LiteLLM runs as (unset: the image's) and its memory limit. */
  readonly user?: string;
  readonly memoryMb: number;
  readonly labels: Record<string, string>;
  /** The image id the last migration ran with (or that LiteLLM set up by itself at its first start). */
  readonly migratedImageId?: string;
}

/** The migration failed: `pulumi up` shows this, the container's own words, scrubbed of secrets. */
export function migrationFailure(state: LitellmMigrationState, exitCode: number, logs: string): string {
  const secrets = [state.databaseUrl, ...passwordOf(state.databaseUrl)];
  const lines = logs
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-FAILURE_LOG_LINES)
    .join("\n");
  return (
    `LiteLLM's database migration with ${state.image} failed (exit ${exitCode}); the LiteLLM container was not replaced ` +
    `and still runs the previous image. Its last lines:\n${scrubSecrets(lines || "(no output)", secrets, FAILURE_MAX_CHARS)}`
  );
}

/** The password in a postgresql:// URL, raw and percent-decoded, so neither form can reach a log. */
function passwordOf(url: string): string[] {
  const match = /^[a-z]+:\/\/[^:/@]*:([^@]*)@/.exec(url);
  if (!match) {
    return [];
  }
  let decoded = match[1];
  try {
    decoded = decodeURIComponent(match[1]);
  } catch {
    // not percent-encoded: the raw form is enough
  }
  return [match[1], decoded];
}

async function migrate(state: LitellmMigrationState): Promise<void> {
  const result = await runOneShotContainer(
    endpointOf(state),
    {
      name: state.migrationContainer,
      image: state.imageId,
      cmd: [SKIP_SERVER_STARTUP],
      // LITELLM_MODE: as the service has it (DEV mode would load a .env from the working directory).
      env: [`DATABASE_URL=${state.databaseUrl}`, "LITELLM_MODE=PRODUCTION"],
      network: state.network,
      ...(state.user !== undefined ? { user: state.user } : {}),
      memoryMb: state.memoryMb,
      labels: state.labels,
    },
    MIGRATION_TIMEOUT_SECONDS * 1000,
    FAILURE_LOG_LINES * 4,
  );
  if (result.exitCode !== 0) {
    throw new Error(migrationFailure(state, result.exitCode, result.logs));
  }
}

function declaration(state: LitellmMigrationState): string {
  return JSON.stringify([
    ...endpointDeclaration(state),
    state.image,
    state.imageId,
    state.databaseUrl,
    state.network,
    state.litellmContainer,
    state.migrationContainer,
    state.user,
    state.memoryMb,
    state.labels,
  ]);
}

/**
 * Runs LiteLLM's database migrations with a new image before the LiteLLM container is replaced:
 * a one-shot container of the new image (`litellm --skip_server_startup`: setup and `prisma migrate
 * deploy`, then exit) on the backend network, given DATABASE_URL in its environment only, removed
 * when it ends. Exit 0 lets the replacement go on; anything else fails `pulumi up` with the
 * container's last lines, and the old LiteLLM container, which depends on nothing that changed,
 * keeps serving. On a new stack nothing runs (LiteLLM migrates at its first start); on a stack
 * deployed before this step existed, a migration runs when its LiteLLM runs another image.
 */
export const litellmMigrationProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: LitellmMigrationState, news: LitellmMigrationState): Promise<pulumi.dynamic.DiffResult> {
    return { changes: declaration(olds) !== declaration(news) };
  },
  async create(inputs: LitellmMigrationState): Promise<pulumi.dynamic.CreateResult> {
    const running = await containerImageId(endpointOf(inputs), inputs.litellmContainer);
    if (running !== undefined && running !== inputs.imageId) {
      await migrate(inputs);
    }
    return { id: `${inputs.litellmContainer}-migration`, outs: { ...inputs, migratedImageId: inputs.imageId } };
  },
  async update(_id: string, olds: LitellmMigrationState, news: LitellmMigrationState): Promise<pulumi.dynamic.UpdateResult> {
    if (olds.migratedImageId !== news.imageId) {
      await migrate(news);
    }
    return { outs: { ...news, migratedImageId: news.imageId } };
  },
  // The one-shot container is removed when it ends; there is nothing to undo.
  async delete(): Promise<void> {},
};

/** dockerHost & co.: the Docker endpoint, as the docker provider reaches it. */
export interface LitellmMigrationArgs extends DockerEndpointArgs {
  /** The LiteLLM pin, named in messages. Required. */
  readonly image: string;
  /** The pulled image's id (`RemoteImage.imageId`), so the pull happened and a new image is a new migration. Required. */
  readonly imageId: pulumi.Input<string>;
  /** LiteLLM's DATABASE_URL; kept secret in the state. Required. */
  readonly databaseUrl: pulumi.Input<string>;
  /** The network PostgreSQL is reachable on (the backend network's name). Required. */
  readonly network: pulumi.Input<string>;
  /** LiteLLM's container name. Required. */
  readonly litellmContainer: string;
  /** The user LiteLLM runs as (CONTAINER_PRIVILEGES.litellm.user). Default the image's. */
  readonly user?: string;
  /** Memory limit of the one-shot container, in MB (LiteLLM's own). Required. */
  readonly memoryMb: number;
  /** Labels on the one-shot container. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * LiteLLM's migration step: make the LiteLLM container depend on it, so that a new image's
 * migrations have run (and succeeded) before the old container is removed.
 */
export class LitellmMigration extends pulumi.dynamic.Resource {
  /** The image id the database was last migrated with. */
  declare public readonly migratedImageId: pulumi.Output<string>;

  constructor(name: string, args: LitellmMigrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      litellmMigrationProvider,
      name,
      {
        ...endpointInputs(args),
        image: args.image,
        imageId: args.imageId,
        databaseUrl: pulumi.secret(args.databaseUrl),
        network: args.network,
        litellmContainer: args.litellmContainer,
        migrationContainer: `${args.litellmContainer}-migrate`,
        ...(args.user !== undefined ? { user: args.user } : {}),
        memoryMb: args.memoryMb,
        labels: { ...args.labels },
        migratedImageId: undefined,
      },
      { ...opts, additionalSecretOutputs: ["databaseUrl", ...ENDPOINT_SECRET_OUTPUTS] },
      "ai-gateway",
      "LitellmMigration",
    );
  }
}
