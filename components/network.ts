import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { NetworkSpec } from "../lib/containerSecurity";
import { dockerLabels } from "../lib/labels";

export interface PrivateNetworkArgs {
  /** Docker's network name, unique on the host. Required. */
  readonly networkName: string;
  /** Internal or not, and the bridge driver's options (lib/containerSecurity.ts NETWORKS). Default: not internal, no options. */
  readonly spec?: NetworkSpec;
  /** Labels on the network. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * A bridge network some of the gateway's containers talk on. Containers find each other by network
 * alias through Docker's embedded DNS; nothing on it is reachable from outside except the ports
 * nginx publishes. An internal one has no way out of the host.
 */
export class PrivateNetwork extends pulumi.ComponentResource {
  public readonly network: docker.Network;
  /** The network's name, for containers' networksAdvanced. */
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:PrivateNetwork", name, {}, opts);
    const options = args.spec?.options ?? {};
    this.network = new docker.Network(
      `${name}-network`,
      {
        name: args.networkName,
        driver: "bridge",
        internal: args.spec?.internal ?? false,
        options: Object.keys(options).length > 0 ? { ...options } : undefined,
        // Explicit, because the provider reads it back: on a daemon whose default-network-opts
        // enable IPv6, an unset value would diff on every run and replace the network.
        ipv6: false,
        labels: dockerLabels(args.labels ?? {}),
      },
      { parent: this },
    );
    this.name = this.network.name;
    this.registerOutputs({ name: this.name });
  }
}
