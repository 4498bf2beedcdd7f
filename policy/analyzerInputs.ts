/**
 * Makes @pulumi/policy hand the policies the inputs with the program's secret marks kept (values.ts).
 *
 * The engine sends every analyzer the inputs with secrets marked (pulumi 3.274.1
 * pkg/resource/plugin/analyzer_plugin.go, Analyze and AnalyzeStack: KeepSecrets). @pulumi/policy
 * 1.21.0 deserializes them for validateResource and validateStack with `proxySecrets` false, which
 * drops the marks, and for remediations with true (server.js). Without the marks the
 * "no-plain-secrets" policy could not tell the master key the program marks secret from a
 * password written into a plain environment variable. So, before the pack starts serving, the
 * deserializer that server.js calls for validations is replaced by values.ts's `fromWire`, which
 * keeps the marks and turns Pulumi's unknown sentinels into `Unknown`; remediations keep the
 * library's own. The version is pinned exactly in package.json, and tests/policy/analyzerInputs
 * checks that server.js still calls the function this replaces.
 */
import { fromWire, Inputs, isRecord } from "./values";

/** The property on @pulumi/policy's proxies that returns the object behind them (proxy.js getSpecialProxyTarget). */
const PROXY_TARGET = "__getSpecialProxyTarget";

interface ProtobufStruct {
  toJavaScript(): Record<string, unknown>;
}

type Deserializer = (struct: ProtobufStruct, proxySecrets: boolean) => unknown;

/** Replaces @pulumi/policy's deserializer for validations; call once, before `new PolicyPack`. */
export function keepSecretMarks(): void {
  // The library's module object: server.js looks the function up on it at every call.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const deserialize: { deserializeProperties: Deserializer } = require("@pulumi/policy/deserialize");
  const original = deserialize.deserializeProperties;
  if (typeof original !== "function") {
    throw new Error("@pulumi/policy/deserialize has no deserializeProperties: the pack was written for @pulumi/policy 1.21.0");
  }
  deserialize.deserializeProperties = (struct, proxySecrets) =>
    proxySecrets ? original(struct, proxySecrets) : fromWire(struct.toJavaScript());
}

/**
 * The inputs behind the unknown-checking proxy @pulumi/policy wraps them in, in values.ts's form.
 * The proxy throws on any unknown it meets, which would stop a whole policy for one field not
 * known in a preview; the policies look at `Unknown`s themselves instead.
 */
export function inputsOf(props: unknown): Inputs {
  const target = (props as Record<string, unknown> | undefined)?.[PROXY_TARGET] ?? props;
  const inputs = fromWire(target);
  return isRecord(inputs) ? inputs : {};
}
