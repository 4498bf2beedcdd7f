import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { DockerEngineError, EndpointState, endpointDeclaration, endpointOf, execInContainer } from "../lib/dockerExec";
import { DockerEndpointArgs, ENDPOINT_SECRET_OUTPUTS, endpointInputs } from "./dockerEndpoint";
import { OPEN_WEBUI_PORT } from "../lib/constants";
import { scrubSecrets } from "../lib/scrub";
import { OpenWebuiDeclaredSettings } from "../lib/services";

/** What the step knows: where Open WebUI runs, which admin acts, and what to enforce. */
export interface OpenWebuiSettingsState extends EndpointState {
  /** The Open WebUI container's name (the script runs inside it). */
  readonly container: string;
  /** The admin the script acts as (the oldest admin when none has this address). */
  readonly adminEmail: string;
  readonly settings: OpenWebuiDeclaredSettings;
  /** runtime/open_webui_config.py, run with the Open WebUI image's python3. */
  readonly script: string;
}

interface SettingsResult {
  readonly inSync: boolean;
  readonly changed: string[];
  readonly unchanged: string[];
}

const EXIT_REASONS: Record<number, string> = {
  1: "Open WebUI refused a call",
  2: "Open WebUI could not be reached",
  3: "no admin to act as, or bad input",
};

/**
 * Runs the script inside the Open WebUI container, as the key registration runs its own inside
 * LiteLLM's: secrets on stdin, Open WebUI called on 127.0.0.1 as its admin (a session token the
 * script makes with the container's WEBUI_SECRET_KEY, so no password is needed), nothing logged.
 */
async function enforce(state: OpenWebuiSettingsState, mode: "apply" | "check"): Promise<SettingsResult> {
  const input = JSON.stringify({
    baseUrl: `http://127.0.0.1:${OPEN_WEBUI_PORT}`,
    email: state.adminEmail,
    mode,
    ...state.settings,
  });
  const result = await execInContainer(endpointOf(state), state.container, ["python3", "-c", state.script], input);
  if (result.exitCode !== 0) {
    const reason = EXIT_REASONS[result.exitCode] ?? `exit ${result.exitCode}`;
    // Open WebUI's validation errors quote the body they refused, which holds its LiteLLM key.
    const secrets = [state.settings.openai.key];
    throw new Error(`Open WebUI settings step failed (${reason}): ${scrubSecrets(result.stderr.trim() || result.stdout.trim(), secrets)}`);
  }
  return JSON.parse(result.stdout) as SettingsResult;
}

/** The declaration, as one value: when it differs from the last one applied, there is work to do. */
function declaration(state: OpenWebuiSettingsState): string {
  const { container, adminEmail, settings, script } = state;
  return createHash("sha256")
    .update(JSON.stringify([...endpointDeclaration(state), container, adminEmail, settings, script]))
    .digest("hex");
}

/**
 * A dynamic provider for the same reasons as the key registration's (keyRegistration.ts): it fails
 * `pulumi up` with Open WebUI's own error text, and its diff asks Open WebUI (read-only) whether the
 * declared settings still hold, so a change made in the admin panel shows up as an update that
 * puts the declared ones back, while a second `pulumi up` with nothing changed is a no-op. Deleting
 * it changes nothing: the settings live in Open WebUI's volume, which goes with Open WebUI.
 */
export const openWebuiSettingsProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: OpenWebuiSettingsState, news: OpenWebuiSettingsState): Promise<pulumi.dynamic.DiffResult> {
    if (declaration(olds) !== declaration(news)) {
      return { changes: true };
    }
    try {
      return { changes: !(await enforce(news, "check")).inSync };
    } catch (e) {
      // No such container (404) or not running (409): this run creates or starts it, and it needs
      // nothing from the step. A new volume is seeded from the environment with the declared values;
      // a kept one holds what the step last applied. (Duck-typed: see keysOutOfReach.)
      const status = (e as Partial<DockerEngineError>).status;
      if (status === 404 || status === 409) {
        return { changes: false };
      }
      // As in the key registration: plan an update, which reports the reason if it persists.
      process.stderr.write(
        `warning: could not ask Open WebUI whether its declared settings hold, so an update is planned: ${(e as Error).message}\n`,
      );
      return { changes: true };
    }
  },
  async create(inputs: OpenWebuiSettingsState): Promise<pulumi.dynamic.CreateResult> {
    const result = await enforce(inputs, "apply");
    return { id: `${inputs.container}-settings`, outs: { ...inputs, applied: result.changed } };
  },
  async update(_id: string, _olds: OpenWebuiSettingsState, news: OpenWebuiSettingsState): Promise<pulumi.dynamic.UpdateResult> {
    const result = await enforce(news, "apply");
    return { outs: { ...news, applied: result.changed } };
  },
  async delete(): Promise<void> {},
};

export interface OpenWebuiSettingsArgs extends DockerEndpointArgs {
  readonly container: string;
  readonly adminEmail: string;
  readonly settings: pulumi.Input<OpenWebuiDeclaredSettings>;
  readonly script: string;
}

/** The declared settings as a resource; its state holds Open WebUI's virtual key (secret). */
export class OpenWebuiSettings extends pulumi.dynamic.Resource {
  /** Sections the last apply changed (openai, ollama, admin); empty when Open WebUI agreed. */
  declare public readonly applied: pulumi.Output<string[]>;

  constructor(name: string, args: OpenWebuiSettingsArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      openWebuiSettingsProvider,
      name,
      {
        ...endpointInputs(args),
        container: args.container,
        adminEmail: args.adminEmail,
        script: args.script,
        settings: pulumi.secret(args.settings),
        applied: undefined,
      },
      { ...opts, additionalSecretOutputs: ["settings", ...ENDPOINT_SECRET_OUTPUTS] },
      "ai-gateway",
      "OpenWebuiSettings",
    );
  }
}
