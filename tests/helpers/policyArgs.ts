/**
 * Runs the pack's policies (policy/policies.ts) the way the policy server does, without the
 * server: ResourceValidationArgs built as @pulumi/policy 1.21.0's server.js builds them (pulumi-facts
 * §9), from a resource as the program registered it under mocks (tests/helpers/program.ts) or as
 * a test writes it by hand. The inputs go through the same conversion the pack installs
 * (policy/analyzerInputs.ts: wire form, secret marks kept, internal `__` keys dropped as the engine
 * drops them) and the same unknown-checking proxy.
 */
import { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { inputsFromWire } from "../../policy/values";
import { PROJECT, RecordedResource } from "./program";

// The server's proxy (@internal in proxy.d.ts, so not in the type declarations).
const { unknownCheckingProxy } = require("@pulumi/policy/proxy") as { unknownCheckingProxy: <T>(value: T) => T };

/** A resource for the policies: a registered one, or one built by hand (`inputs` in wire form). */
export interface PolicySubject {
  readonly type: string;
  readonly name: string;
  /** Inputs in Pulumi's wire form: secrets as {sig, value}, unknowns as sentinel strings. */
  readonly wireInputs: Record<string, any>;
  readonly options?: Partial<RecordedResource["options"]>;
  readonly parent?: string;
}

/** One violation a policy reported. */
export interface Violation {
  readonly policy: string;
  readonly resource: string;
  readonly message: string;
}

/** The ResourceValidationArgs the server would pass for `subject`, with `config` as the policy's --policy-pack-config settings. */
export function validationArgs(subject: PolicySubject, config: Record<string, unknown> = {}): ResourceValidationArgs {
  const props = unknownCheckingProxy(inputsFromWire(subject.wireInputs));
  const options = subject.options ?? {};
  const type = subject.type;
  return {
    type,
    props,
    urn: `urn:pulumi:test::${PROJECT}::${type}::${subject.name}`,
    name: subject.name,
    opts: {
      protect: options.protect ?? false,
      ignoreChanges: options.ignoreChanges ?? [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: options.additionalSecretOutputs ?? [],
      ...(options.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
      ...(subject.parent ? { parent: subject.parent } : {}),
    },
    stackTags: new Map(),
    isType: (resourceClass: any) => resourceClass.__pulumiType === type,
    asType: (resourceClass: any) => (resourceClass.__pulumiType === type ? props : undefined),
    getConfig: <T>() => config as T,
    notApplicable: (reason?: string) => {
      throw new Error(`not applicable: ${reason}`);
    },
  } as ResourceValidationArgs;
}

/** Every violation `policies` report for `subjects`; `config` by policy name. */
export async function violations(
  policies: readonly ResourceValidationPolicy[],
  subjects: readonly PolicySubject[],
  config: Record<string, Record<string, unknown>> = {},
): Promise<Violation[]> {
  const found: Violation[] = [];
  for (const subject of subjects) {
    for (const policy of policies) {
      const validations = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : policy.validateResource
          ? [policy.validateResource]
          : [];
      for (const validate of validations) {
        await validate(validationArgs(subject, config[policy.name] ?? {}), (message: string) =>
          found.push({ policy: policy.name, resource: subject.name, message }),
        );
      }
    }
  }
  return found;
}

/** A registered resource as a policy subject. */
export function subjectOf(resource: RecordedResource): PolicySubject {
  return { type: resource.type, name: resource.name, wireInputs: resource.wireInputs, options: resource.options, parent: resource.parent };
}
