import * as pulumi from "@pulumi/pulumi";
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
  /** The data volume's attachment: Docker must not start before the volume is there (lib/cloudInit.ts). */
  readonly volumeAttachmentId: string;
}

function declared(state: HostReadyState): string {
  return JSON.stringify([state.dockerHost, state.sshHostKey, state.sshOpts, state.serverId, state.volumeAttachmentId]);
}

async function waitFor(state: HostReadyState): Promise<void> {
  await waitForDockerHost(
    { dockerHost: state.dockerHost, sshHostKey: state.sshHostKey, sshOpts: state.sshOpts },
    // The engine shows a dynamic provider's stderr as the resource's diagnostics.
    { log: (message) => process.stderr.write(`${message}\n`) },
  );
}

/**
 * The readiness gate: waits until a freshly provisioned server answers ssh with its pinned key,
 * cloud-init has finished (Docker installed, the volume mounted where Docker keeps volumes) and
 * `docker info` works, so the docker provider that depends on it deploys in the same `pulumi up`.
 * It checks on create and whenever the server, its address, key or volume attachment changes;
 * a second `pulumi up` with nothing changed does not connect.
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
        volumeAttachmentId: args.volumeAttachmentId,
      },
      opts,
      "ai-gateway",
      "HostReady",
    );
  }
}
