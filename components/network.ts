import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerLabels } from "../lib/labels";

export interface PrivateNetworkArgs {
  /** Docker's network name, unique on the host. Required. */
  readonly networkName: string;
  /** Labels on the network. Default none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The bridge network the gateway's containers talk on. Containers find each other by network
 * alias through Docker's embedded DNS; nothing on it is reachable from outside except the ports
 * nginx publishes. It is not `internal`, because LiteLLM must reach the LLM providers.
 */
export class PrivateNetwork extends pulumi.ComponentResource {
  public readonly network: docker.Network;
  /** The network's name, for containers' networksAdvanced. */
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ai-gateway:index:PrivateNetwork", name, {}, opts);
    this.network = new docker.Network(
      `${name}-network`,
      {
        name: args.networkName,
        driver: "bridge",
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
