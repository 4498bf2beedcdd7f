import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { DockerEngineError, EndpointState, endpointDeclaration, endpointOf, execInContainer } from "../lib/dockerExec";
import { scrubSecrets } from "../lib/scrub";
import { KeyRecord } from "../lib/virtualKeys";
import { DockerEndpointArgs, ENDPOINT_SECRET_OUTPUTS, endpointInputs } from "./dockerEndpoint";

/** A declared key with its value. */
export interface DeclaredKey extends KeyRecord {
  readonly key: string;
}

/** What the registration knows: everything it needs to reconcile, and later to remove, its keys. */
export interface KeyRegistrationState extends EndpointState {
  /** The LiteLLM container's name (the script runs inside it). */
  readonly container: string;
  readonly masterKey: string;
  readonly keys: DeclaredKey[];
  /** runtime/litellm_keys.py, run with the LiteLLM image's python3. */
  readonly script: string;
}

interface ReconcileResult {
  readonly inSync: boolean;
  readonly created: string[];
  readonly updated: string[];
  readonly deleted: string[];
  readonly unchanged: string[];
}

const EXIT_REASONS: Record<number, string> = { 1: "LiteLLM refused a call", 2: "LiteLLM could not be reached", 3: "bad input" };
/** runtime/litellm_keys.py's exit status when LiteLLM did not answer inside its container. */
const LITELLM_UNREACHABLE = 2;

/** The script ran and failed; `exitCode` says how (EXIT_REASONS). */
class ReconcileError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    // Set again: in the provider as Pulumi serializes it, super() is Error called as a function,
    // which leaves `this` without a message (the engine would report "undefined").
    this.message = message;
    this.name = "ReconcileError";
  }
}

/**
 * Runs the reconciliation script inside the LiteLLM container. Secrets travel on stdin (never a
 * command line); LiteLLM is called on 127.0.0.1 inside its own container; nothing is logged.
 */
async function reconcile(
  state: KeyRegistrationState,
  mode: "apply" | "check",
  remove: { alias: string; key: string }[],
): Promise<ReconcileResult> {
  const input = JSON.stringify({ baseUrl: "http://127.0.0.1:4000", masterKey: state.masterKey, mode, keys: state.keys, remove });
  const result = await execInContainer(endpointOf(state), state.container, ["python3", "-c", state.script], input);
  if (result.exitCode !== 0) {
    const reason = EXIT_REASONS[result.exitCode] ?? `exit ${result.exitCode}`;
    const secrets = [state.masterKey, ...state.keys.map((k) => k.key), ...remove.map((k) => k.key)];
    throw new ReconcileError(
      `LiteLLM key registration failed (${reason}): ${scrubSecrets(result.stderr.trim() || result.stdout.trim(), secrets)}`,
      result.exitCode,
    );
  }
  return JSON.parse(result.stdout) as ReconcileResult;
}

/** The declaration, as one value: when it differs from the last one applied, there is work to do. */
function declaration(state: KeyRegistrationState): string {
  return createHash("sha256")
    .update(JSON.stringify([...endpointDeclaration(state), state.container, state.masterKey, state.keys, state.script]))
    .digest("hex");
}

function removed(olds: KeyRegistrationState, news: KeyRegistrationState): { alias: string; key: string }[] {
  const kept = new Set(news.keys.map((k) => k.key));
  return olds.keys.filter((k) => !kept.has(k.key)).map((k) => ({ alias: k.alias, key: k.key }));
}

/**
 * Whether a failed removal only means LiteLLM cannot be asked: its container is gone (404), not
 * running or restarting (409), or LiteLLM inside it does not answer. Anything else (an unreachable
 * engine, LiteLLM refusing the call) stops `pulumi destroy`, which then says why.
 */
export function keysOutOfReach(error: unknown): boolean {
  // Duck-typed rather than instanceof: the provider's code is serialized into the stack's state and
  // later runs from there, where class identity is not guaranteed to survive.
  const { status, exitCode } = error as Partial<DockerEngineError & ReconcileError>;
  return status === 404 || status === 409 || exitCode === LITELLM_UNREACHABLE;
}

/**
 * A dynamic provider rather than a command or a one-shot container, because only a provider can
 * both fail `pulumi up` with LiteLLM's own error text and find drift on a run with no config change:
 * its diff asks LiteLLM (read-only) whether the database still holds the declared keys, so a second
 * `pulumi up` is a no-op while a reset database shows up as an update that registers them again.
 * It implements update and diff, so no previously registered output is ever lost.
 */
export const keyRegistrationProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: KeyRegistrationState, news: KeyRegistrationState): Promise<pulumi.dynamic.DiffResult> {
    if (declaration(olds) !== declaration(news)) {
      return { changes: true };
    }
    try {
      return { changes: !(await reconcile(news, "check", [])).inSync };
    } catch (e) {
      // LiteLLM or Docker unreachable: plan an update (which reports the reason if it persists),
      // and say now why, so a preview in CI does not show an unexplained change. The engine shows
      // a provider's stderr with the resource; pulumi.log cannot be used here, as the provider is
      // serialized by value and the SDK's logger does not survive that.
      process.stderr.write(
        `warning: could not ask LiteLLM whether its virtual keys are registered, so an update is planned: ${(e as Error).message}\n`,
      );
      return { changes: true };
    }
  },
  async create(inputs: KeyRegistrationState): Promise<pulumi.dynamic.CreateResult> {
    const result = await reconcile(inputs, "apply", []);
    return {
      id: `${inputs.container}-keys`,
      outs: { ...inputs, aliases: [...result.created, ...result.updated, ...result.unchanged].sort() },
    };
  },
  async update(_id: string, olds: KeyRegistrationState, news: KeyRegistrationState): Promise<pulumi.dynamic.UpdateResult> {
    const result = await reconcile(news, "apply", removed(olds, news));
    return { outs: { ...news, aliases: [...result.created, ...result.updated, ...result.unchanged].sort() } };
  },
  async delete(_id: string, props: KeyRegistrationState): Promise<void> {
    try {
      await reconcile({ ...props, keys: [] }, "apply", removed(props, { ...props, keys: [] }));
    } catch (e) {
      if (!keysOutOfReach(e)) {
        throw e;
      }
      // LiteLLM is gone, stopped, restarting or down, and is deleted right after this. Keys left in
      // a kept database are removed by the next deployment's registration (it takes over its aliases).
    }
  },
};

export interface KeyRegistrationArgs extends DockerEndpointArgs {
  readonly container: string;
  readonly masterKey: pulumi.Input<string>;
  readonly keys: pulumi.Input<DeclaredKey[]>;
  readonly script: string;
}

/** The registration as a resource: its state holds the keys (secret) so removal can find them later. */
export class KeyRegistration extends pulumi.dynamic.Resource {
  declare public readonly aliases: pulumi.Output<string[]>;

  constructor(name: string, args: KeyRegistrationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      keyRegistrationProvider,
      name,
      {
        ...endpointInputs(args),
        container: args.container,
        script: args.script,
        masterKey: pulumi.secret(args.masterKey),
        keys: pulumi.secret(args.keys),
        aliases: undefined,
      },
      { ...opts, additionalSecretOutputs: ["masterKey", "keys", ...ENDPOINT_SECRET_OUTPUTS] },
      "ai-gateway",
      "LitellmKeyRegistration",
    );
  }
}
