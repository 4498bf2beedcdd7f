/**
 * The end-to-end suite needs the Pulumi toolchain, a Docker engine and the local registry's
 * images; scripts/test-all.sh provides all three. Without them it is skipped with a message on a
 * developer machine, and fails in CI (CI=true), like the other runtime suites.
 */
import { registryRequirement } from "../helpers/registryImages";
import { describeWith, Requirement, requirements } from "../helpers/requirements";
import { hasToolchain } from "./harness";

export const toolchain = (): Requirement => ({
  name: "the Pulumi toolchain",
  met: hasToolchain(),
  hint: "run scripts/pulumi-toolchain.sh (builds pulumi and the providers from Go modules)",
});

/** `extra`: what a file needs beyond the toolchain, the engine and the images (e.g. network namespaces, sshd). */
export function describeE2E(title: string, body: () => void, extra: readonly Requirement[] = []): void {
  describeWith(title, [toolchain(), requirements.docker(), requirements.rootfs(), registryRequirement(), ...extra], body);
}
