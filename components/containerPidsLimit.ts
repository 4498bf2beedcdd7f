import * as pulumi from "@pulumi/pulumi";
import {
  containerPidsLimit,
  DockerEngineError,
  EndpointState,
  endpointDeclaration,
  endpointOf,
  setContainerPidsLimit,
} from "../lib/dockerExec";
import { DockerEndpointArgs, ENDPOINT_SECRET_OUTPUTS, endpointInputs } from "./dockerEndpoint";

/** What the step knows: which container, on which engine (reached as the docker provider reaches it), gets which limit. */
export interface ContainerPidsLimitState extends EndpointState {
  /** The container's name. */
  readonly container: string;
  /** The container's id: a new container (a replacement) gets the limit again. */
  readonly containerId: string;
  readonly pidsLimit: number;
}

async function apply(state: ContainerPidsLimitState): Promise<void> {
  await setContainerPidsLimit(endpointOf(state), state.container, state.pidsLimit);
  const applied = await containerPidsLimit(endpointOf(state), state.container);
  if (applied !== state.pidsLimit) {
    throw new Error(`the engine kept pids limit ${applied} for ${state.container} instead of ${state.pidsLimit}`);
  }
}

/**
 * The docker provider (5.2.0) has no pids limit for containers, so this step sets it through the
 * Engine API once the container exists (`docker update --pids-limit`), and again on every new
 * container. Its diff asks the engine (read-only), so a limit changed by hand shows up as an update
 * that puts it back, while a second `pulumi up` with nothing changed is a no-op. Deleting it
 * changes nothing: the limit goes with the container.
 */
export const containerPidsLimitProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: ContainerPidsLimitState, news: ContainerPidsLimitState): Promise<pulumi.dynamic.DiffResult> {
    const { container, pidsLimit } = news;
    const declared = (s: ContainerPidsLimitState) => JSON.stringify([...endpointDeclaration(s), s.container, s.containerId, s.pidsLimit]);
    if (declared(olds) !== declared(news)) {
      return { changes: true };
    }
    try {
      return { changes: (await containerPidsLimit(endpointOf(news), container)) !== pidsLimit };
    } catch (e) {
      // No such container: this run creates it, with a new id, and the step follows it.
      if ((e as Partial<DockerEngineError>).status === 404) {
        return { changes: false };
      }
      process.stderr.write(`warning: could not read the pids limit of ${container}, so an update is planned: ${(e as Error).message}\n`);
      return { changes: true };
    }
  },
  async create(inputs: ContainerPidsLimitState): Promise<pulumi.dynamic.CreateResult> {
    await apply(inputs);
    return { id: `${inputs.container}-pids-limit`, outs: inputs };
  },
  async update(_id: string, _olds: ContainerPidsLimitState, news: ContainerPidsLimitState): Promise<pulumi.dynamic.UpdateResult> {
    await apply(news);
    return { outs: news };
  },
  async delete(): Promise<void> {},
};

/** dockerHost & co.: the Docker endpoint of the container's host, as the docker provider reaches it. */
export interface ContainerPidsLimitArgs extends DockerEndpointArgs {
  /** The container's name. Required. */
  readonly container: pulumi.Input<string>;
  /** The container's id (`docker.Container.id`), so a replaced container gets the limit too. Required. */
  readonly containerId: pulumi.Input<string>;
  /** Most processes and threads the container may have at once (CIS Docker 5.28). Required. */
  readonly pidsLimit: number;
}

/** A container's pids limit, applied after the docker provider created the container. */
export class ContainerPidsLimit extends pulumi.dynamic.Resource {
  constructor(name: string, args: ContainerPidsLimitArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      containerPidsLimitProvider,
      name,
      { ...endpointInputs(args), container: args.container, containerId: args.containerId, pidsLimit: args.pidsLimit },
      { ...opts, additionalSecretOutputs: [...ENDPOINT_SECRET_OUTPUTS] },
      "ai-gateway",
      "ContainerPidsLimit",
    );
  }
}
