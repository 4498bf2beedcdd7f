/**
 * The pack's hook into @pulumi/policy (policy/analyzerInputs.ts): with it installed, the
 * deserializer the policy server calls for validations keeps the program's secret marks and turns
 * unknowns into `Unknown`; remediations keep the library's own; and the installed server.js still
 * calls the function the hook replaces, so an upgrade that changes that fails here.
 */
import * as fs from "fs";
import * as path from "path";
import { inputsOf, keepSecretMarks } from "../../policy/analyzerInputs";
import { Marked, Unknown } from "../../policy/values";
import { ROOT, SECRET_SIG } from "../helpers/program";

const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { unknownCheckingProxy } = require("@pulumi/policy/proxy");

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const WIRE = {
  envs: ["MODE=prod", { [SIG_KEY]: SECRET_SIG, value: "POSTGRES_PASSWORD=hunter2" }],
  image: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  memory: 256,
};

test("server.js deserializes validations' inputs through the module function the hook replaces", () => {
  const server = fs.readFileSync(path.join(ROOT, "node_modules", "@pulumi", "policy", "server.js"), "utf8");
  // Analyze (validateResource) and AnalyzeStack (validateStack), without secret proxies.
  expect(server.match(/deserialize_1\.deserializeProperties\((req|r)\.getProperties\(\), false\)/g)).toHaveLength(2);
});

describe("with the hook installed", () => {
  const deserialize = require("@pulumi/policy/deserialize");
  const original = deserialize.deserializeProperties;
  beforeAll(() => keepSecretMarks());
  afterAll(() => {
    deserialize.deserializeProperties = original;
  });

  test("validations get the secret marks and unknowns", () => {
    const props = deserialize.deserializeProperties(Struct.fromJavaScript(WIRE), false);
    expect(props).toEqual({ envs: ["MODE=prod", new Marked("POSTGRES_PASSWORD=hunter2")], image: Unknown.value, memory: 256 });
  });

  test("remediations get what the library gives them (secrets readable, writes kept secret)", () => {
    const props = deserialize.deserializeProperties(Struct.fromJavaScript(WIRE), true);
    expect(props.envs[1]).toBe("POSTGRES_PASSWORD=hunter2");
  });

  test("the server's unknown-checking proxy lets an Unknown through (it throws on the wire sentinels), and inputsOf reads the inputs behind it", () => {
    const library = unknownCheckingProxy(original(Struct.fromJavaScript(WIRE), false));
    expect(() => library.image).toThrow(/can't be known during preview/);
    const props = unknownCheckingProxy(deserialize.deserializeProperties(Struct.fromJavaScript(WIRE), false));
    expect(props.image).toBeInstanceOf(Unknown);
    expect(inputsOf(props)).toEqual({ envs: ["MODE=prod", new Marked("POSTGRES_PASSWORD=hunter2")], image: Unknown.value, memory: 256 });
  });
});

test("without the hook the library drops the marks: a policy could not tell a secret from a plain value", () => {
  const props = require("@pulumi/policy/deserialize").deserializeProperties(Struct.fromJavaScript(WIRE), false);
  expect(props.envs[1]).toBe("POSTGRES_PASSWORD=hunter2");
});
