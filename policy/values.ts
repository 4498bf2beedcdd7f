/**
 * Resource inputs as the policies read them: plain JSON in which a value the program marked secret
 * is a `Marked` and a value not known during a preview is an `Unknown`.
 *
 * The engine sends the analyzer the inputs in Pulumi's wire form, secrets still marked (pulumi
 * 3.274.1 pkg/resource/plugin/analyzer_plugin.go: Analyze marshals with KeepSecrets and
 * KeepUnknowns). @pulumi/policy 1.21.0 then unwraps the secrets before a policy sees them
 * (server.js: deserializeProperties(..., false)), so a policy cannot tell a secret from a plain
 * value (pulumi/pulumi-policy#241, open). analyzerInputs.ts hands the policies this form instead,
 * and the unit tests build it from the same wire form the program sends under mocks.
 */

/** Pulumi's wire signature key and the signature of a secret (@pulumi/pulumi runtime/rpc). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** The sentinels Pulumi sends for a value not known during a preview (@pulumi/pulumi runtime/rpc, @pulumi/policy proxy). */
const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
]);

/** A value the program marked secret: encrypted in the state, hidden in the CLI's output. */
export class Marked {
  constructor(readonly value: Value) {}
}

/** A value not known until the resources it comes from exist (a preview of their creation). */
export class Unknown {
  private constructor() {}
  /** The one instance. */
  static readonly value = new Unknown();
}

/** One input value as the policies see it. */
export type Value = null | boolean | number | string | Marked | Unknown | Value[] | { [key: string]: Value };

/** A resource's inputs. */
export type Inputs = { [key: string]: Value };

/**
 * Converts Pulumi's wire form (secrets as signature objects, unknowns as sentinel strings) into
 * `Value`s. Idempotent: a value already converted comes back the same, so it also accepts what
 * @pulumi/policy hands a policy without analyzerInputs.ts (secrets already unwrapped).
 */
export function fromWire(wire: unknown): Value {
  if (wire instanceof Marked || wire instanceof Unknown) {
    return wire;
  }
  if (wire === null || wire === undefined) {
    return null;
  }
  if (typeof wire === "string") {
    return UNKNOWN_SENTINELS.has(wire) ? Unknown.value : wire;
  }
  if (typeof wire === "number" || typeof wire === "boolean") {
    return wire;
  }
  if (Array.isArray(wire)) {
    return wire.map(fromWire);
  }
  if (typeof wire === "object") {
    const record = wire as Record<string, unknown>;
    if (record[SIG_KEY] === SECRET_SIG) {
      return new Marked(fromWire(record.value));
    }
    const result: { [key: string]: Value } = {};
    for (const [key, value] of Object.entries(record)) {
      if (value !== undefined) {
        result[key] = fromWire(value);
      }
    }
    return result;
  }
  return null;
}

/** Inputs from their wire form, without the engine's internal keys (`__provider`, ...), which it never sends analyzers. */
export function inputsFromWire(wire: Record<string, unknown>): Inputs {
  const converted = fromWire(Object.fromEntries(Object.entries(wire).filter(([key]) => !key.startsWith("__"))));
  return isRecord(converted) ? converted : {};
}

/** The value with every secret mark removed (unknowns stay). */
export function reveal(value: Value): Value {
  if (value instanceof Marked) {
    return reveal(value.value);
  }
  if (Array.isArray(value)) {
    return value.map(reveal);
  }
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, reveal(v)]));
  }
  return value;
}

/** A JSON object (not an array, a mark or an unknown). */
export function isRecord(value: Value | undefined): value is { [key: string]: Value } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Marked) && !(value instanceof Unknown);
}

/** A field of a record with marks removed; undefined when absent or not a record. */
export function field(value: Value | undefined, key: string): Value | undefined {
  const plain = value instanceof Marked ? reveal(value) : value;
  return isRecord(plain) ? (plain[key] === undefined ? undefined : reveal(plain[key])) : undefined;
}

/** The strings of a list input (marks removed); undefined when it is not a known list. */
export function stringList(value: Value | undefined): string[] | undefined {
  const plain = value === undefined ? undefined : reveal(value);
  if (!Array.isArray(plain)) {
    return undefined;
  }
  return plain.filter((item): item is string => typeof item === "string");
}

/** Every string in the value that is outside any secret mark, with its path (`envs[2]`, `uploads[0].content`). */
export function plainStrings(value: Value, path = ""): { path: string; text: string }[] {
  if (value instanceof Marked || value instanceof Unknown || value === null) {
    return [];
  }
  if (typeof value === "string") {
    return [{ path, text: value }];
  }
  if (Array.isArray(value)) {
    return value.flatMap((item, i) => plainStrings(item, `${path}[${i}]`));
  }
  if (isRecord(value)) {
    return Object.entries(value).flatMap(([key, v]) => plainStrings(v, path ? `${path}.${key}` : key));
  }
  return [];
}
