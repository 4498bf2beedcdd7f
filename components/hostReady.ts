import * as pulumi from "@pulumi/pulumi";
import { ensureServerRunning, HcloudApiAccess } from "../lib/hcloudServerPower";
import { waitForDockerHost } from "../lib/hostReadiness";

/** What the gate knows: which host, reached how, and which server it is (a new server is waited for again). */
export interface HostReadyState {
  /** `ssh://user@address`: the endpoint the docker provider then uses. */
  readonly dockerHost: string;
  /** `<type> <base64>`, the only host key accepted. */
  readonly sshHostKey: string;
  /** dockerSshOpts, allow-listed already. */
  readonly sshOpts: string[];
  /** The server's id at Hetzner: a replaced server is a new one to wait for. */
  readonly serverId: string;
  /** Its type: a type change powers the server off (the provider leaves it so), so it is started and waited for again. */
  readonly serverType: string;
  /** The Hetzner Cloud API, to start the server when it is off (secret in state). */
  readonly hcloud: HcloudApiAccess;
  /** The data volume's attachment: Docker must not start before the volume is there (lib/cloudInit.ts). */
  readonly volumeAttachmentId: string;
}

function declared(state: HostReadyState): string {
  // Not the API token: a rotated token is no reason to wait for the server again.
  return JSON.stringify([state.dockerHost, state.sshHostKey, state.sshOpts, state.serverId, state.serverType, state.volumeAttachmentId]);
}

async function waitFor(state: HostReadyState): Promise<void> {
  // The engine shows a dynamic provider's stderr as the resource's diagnostics.
  const log = (message: string) => process.stderr.write(`${message}\n`);
  await ensureServerRunning(state.hcloud, state.serverId, { log });
  await waitForDockerHost({ dockerHost: state.dockerHost, sshHostKey: state.sshHostKey, sshOpts: state.sshOpts }, { log });
}

/**
 * The readiness gate: waits until a freshly provisioned server answers ssh with its pinned key,
 * cloud-init has finished (Docker installed, the volume mounted where Docker keeps volumes) and
 * `docker info` works, so the docker provider that depends on it deploys in the same `pulumi up`.
 * It checks on create and whenever the server, its type, address, key or volume attachment
 * changes, first starting the server if it is powered off (a type change leaves it so:
 * lib/hcloudServerPower.ts); a second `pulumi up` with nothing changed does not connect.
 *
 * A dynamic step rather than @pulumi/command's remote.Command, whose provider cannot be built here
 * (issue 7's note): it reuses the exec steps' ssh client and its pinned host key.
 */
export const hostReadyProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: HostReadyState, news: HostReadyState): Promise<pulumi.dynamic.DiffResult> {
    return { changes: declared(olds) !== declared(news) };
  },
  async create(inputs: HostReadyState): Promise<pulumi.dynamic.CreateResult> {
    await waitFor(inputs);
    return { id: `${inputs.serverId}-ready`, outs: inputs };
  },
  async update(_id: string, _olds: HostReadyState, news: HostReadyState): Promise<pulumi.dynamic.UpdateResult> {
    await waitFor(news);
    return { outs: news };
  },
  async delete(): Promise<void> {},
};

export interface HostReadyArgs {
  /** `ssh://user@address`. Required. */
  readonly dockerHost: pulumi.Input<string>;
  /** The host's public key, `<type> <base64>`. Required. */
  readonly sshHostKey: pulumi.Input<string>;
  /** Extra ssh options (dockerSshOpts, allow-listed). Default none. */
  readonly sshOpts?: readonly string[];
  /** The server's id. Required. */
  readonly serverId: pulumi.Input<string>;
  /** The server's type. Required. */
  readonly serverType: pulumi.Input<string>;
  /** The Hetzner Cloud API endpoint and token, to start the server when it is off. Required. */
  readonly hcloud: pulumi.Input<HcloudApiAccess>;
  /** The data volume attachment's id. Required. */
  readonly volumeAttachmentId: pulumi.Input<string>;
}

/** Ready once ssh, cloud-init and Docker are; its outputs carry the endpoint to deploy to. */
export class HostReady extends pulumi.dynamic.Resource {
  declare public readonly dockerHost: pulumi.Output<string>;
  declare public readonly sshHostKey: pulumi.Output<string>;

  constructor(name: string, args: HostReadyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      hostReadyProvider,
      name,
      {
        dockerHost: args.dockerHost,
        sshHostKey: args.sshHostKey,
        sshOpts: [...(args.sshOpts ?? [])],
        serverId: args.serverId,
        serverType: args.serverType,
        hcloud: pulumi.secret(args.hcloud),
        volumeAttachmentId: args.volumeAttachmentId,
      },
      { ...opts, additionalSecretOutputs: ["hcloud"] },
      "ai-gateway",
      "HostReady",
    );
  }
}
