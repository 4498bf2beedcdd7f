import { runProgram } from "../helpers/program";

test("smoke", async () => {
  const run = await runProgram({ stack: "medium" });
  if (run.error) throw run.error;
  console.log(run.resources.map((r) => `${r.type} ${r.name} parent=${r.parent.split("::").pop()} prov=${r.provider.split("::").pop()} deps=${r.dependencies.length}`).join("\n"));
  console.log(JSON.stringify(run.outputs, null, 1));
  console.log([...run.secretOutputs]);
  const c = run.resources.find((r) => r.name.endsWith("litellm") && r.type.includes("container"))!;
  console.log(JSON.stringify(c.wireInputs, null, 1).slice(0, 3000));
});
