/**
 * The Docker endpoint as the program wires it: a tcp:// engine's TLS material reaches the docker
 * provider and both exec steps, and is a secret everywhere it appears (the wire to the engine,
 * hence state); a plain loopback tcp:// engine needs none.
 */
import { find, plainOccurrences, runProgram, stackConfig, TYPES } from "../helpers/program";
import { selfSignedCertificate } from "../fixtures/nginx/selfSignedCert";

const CA = selfSignedCertificate(["docker-ca.example.com"]);
const CLIENT = selfSignedCertificate(["client"]);

test("TLS material reaches the provider and the exec steps, and is secret everywhere", async () => {
  const config = {
    ...stackConfig("medium"),
    "ai-gateway:dockerHost": "tcp://203.0.113.5:2376",
    "ai-gateway:dockerTlsCa": CA.cert,
    "ai-gateway:dockerTlsCert": CLIENT.cert,
    "ai-gateway:dockerTlsKey": CLIENT.key,
  };
  const run = await runProgram({ stack: "medium", config });
  expect(run.error).toBeUndefined();
  const provider = find(run, TYPES.dockerProvider, "-docker");
  expect([provider.inputs.host, provider.inputs.caMaterial, provider.inputs.certMaterial, provider.inputs.keyMaterial]).toEqual([
    "tcp://203.0.113.5:2376",
    CA.cert,
    CLIENT.cert,
    CLIENT.key,
  ]);
  // Every step that talks to the engine itself: the two exec steps and each container's pids limit.
  const steps = run.resources.filter((r) => [TYPES.keyRegistration, TYPES.openWebuiSettings, TYPES.pidsLimit].includes(r.type as never));
  // Five services and the two backup containers.
  expect(steps.filter((r) => r.type === TYPES.pidsLimit)).toHaveLength(7);
  for (const step of steps) {
    expect([step.name, step.inputs.dockerTls]).toEqual([step.name, { ca: CA.cert, cert: CLIENT.cert, key: CLIENT.key }]);
    expect(step.inputs.dockerHost).toBe("tcp://203.0.113.5:2376");
  }
  const keyBody = CLIENT.key.split("\n")[1];
  expect(run.resources.flatMap((r) => plainOccurrences(r.wireInputs, keyBody, r.name))).toEqual([]);
});

test("a plain tcp:// engine on loopback needs no TLS material", async () => {
  const run = await runProgram({ stack: "medium", config: { ...stackConfig("medium"), "ai-gateway:dockerHost": "tcp://127.0.0.1:2375" } });
  expect(run.error).toBeUndefined();
  expect(find(run, TYPES.dockerProvider, "-docker").inputs.keyMaterial).toBeUndefined();
});
