import * as pulumi from "@pulumi/pulumi";
import { DockerTlsMaterial, EndpointState } from "../lib/dockerExec";

/**
 * The Docker endpoint the exec steps (key registration, Open WebUI settings) reach the engine on:
 * the one the docker provider uses, authenticated the same way.
 */
export interface DockerEndpointArgs {
  /** unix:///path, tcp://host:port or ssh://user@host[:port]. Required. */
  readonly dockerHost: pulumi.Input<string>;
  /** Extra ssh options (allow-listed) for an ssh:// host. Default none. */
  readonly dockerSshOpts?: readonly string[];
  /** The ssh:// host's pinned public key, `<type> <base64>`. Required for ssh://: without it the step refuses to connect. */
  readonly dockerSshHostKey?: pulumi.Input<string>;
  /** A tcp:// engine's TLS material (CA, client certificate and key). Required for a tcp:// host that is not loopback. */
  readonly dockerTls?: pulumi.Input<DockerTlsMaterial>;
}

/**
 * A Docker host known only once it is deployed (the Vps component's server): its ssh:// endpoint
 * and the host key to pin, resolved after the host is ready. Everything that depends on the host's
 * address (the default publicUrl, nginx's server names, Open WebUI's origins, the admin tunnel)
 * follows it.
 */
export interface DeployedDockerHost {
  /** `ssh://user@address[:port]`. */
  readonly dockerHost: pulumi.Input<string>;
  /** The host's public key, `<type> <base64>`: the only key ssh accepts for it. */
  readonly sshHostKey: pulumi.Input<string>;
}

/** The endpoint as a dynamic resource's inputs; the TLS material is a secret there and in state. */
export function endpointInputs(args: DockerEndpointArgs): { [K in keyof EndpointState]: pulumi.Input<EndpointState[K]> } {
  return {
    dockerHost: args.dockerHost,
    sshOpts: [...(args.dockerSshOpts ?? [])],
    ...(args.dockerSshHostKey !== undefined ? { sshHostKey: args.dockerSshHostKey } : {}),
    ...(args.dockerTls !== undefined ? { dockerTls: pulumi.secret(args.dockerTls) } : {}),
  };
}

/** Outputs of a dynamic resource that must stay secret in state. */
export const ENDPOINT_SECRET_OUTPUTS = ["dockerTls"];
