/**
 * Two evaluations with the same config must hand the engine byte-identical inputs (no timestamps,
 * no unstable ordering): that is what makes a second `pulumi up` a no-op.
 */
import { runProgram, ProgramRun } from "../helpers/program";

function fingerprint(run: ProgramRun): string {
  return JSON.stringify(
    run.resources.map((r) => ({
      type: r.type,
      name: r.name,
      parent: r.parent,
      provider: r.provider,
      inputs: r.wireInputs,
      options: r.options,
      dependencies: [...r.dependencies].sort(),
    })),
  );
}

test.each(["small", "medium", "large"])("%s: two evaluations give identical resource inputs", async (stack) => {
  const first = await runProgram({ stack });
  const second = await runProgram({ stack });
  expect(first.error).toBeUndefined();
  const byName = (run: ProgramRun) => [...run.resources].sort((a, b) => a.urn.localeCompare(b.urn));
  expect(fingerprint({ ...second, resources: byName(second) })).toBe(fingerprint({ ...first, resources: byName(first) }));
  expect(JSON.stringify(second.outputs)).toBe(JSON.stringify(first.outputs));
});

test("a different profile changes container limits but not the data volumes", async () => {
  const small = await runProgram({ stack: "small" });
  const large = await runProgram({ stack: "large" });
  const volumes = (run: ProgramRun) =>
    run.resources
      .filter((r) => r.type === "docker:index/volume:Volume" && r.name.endsWith("-data"))
      .map((r) => ({ ...r.inputs, name: r.inputs.name.replace(/-(small|large)-/, "-") }));
  expect(volumes(small)).toEqual(volumes(large));
});
