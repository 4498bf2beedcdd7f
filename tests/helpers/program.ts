/**
 * Runs the real program (index.ts) under `pulumi.runtime.setMocks` with a stack's config, and
 * records every resource registration as the engine would see it: type, name, parent, provider,
 * dependencies, resource options, and the inputs both deserialized and as serialized on the wire
 * (where Pulumi secrets are still marked).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as inspector from "inspector";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";

export const PROJECT = "ai-gateway";
export const ROOT = path.resolve(__dirname, "..", "..");

/** The wire marker Pulumi uses for a secret value. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly custom: boolean;
  readonly parent: string;
  readonly provider: string;
  readonly dependencies: string[];
  readonly propertyDependencies: Record<string, string[]>;
  /** Inputs with secrets unwrapped, as a mock's newResource sees them. */
  readonly inputs: Record<string, any>;
  /** Inputs as serialized for the engine; secrets appear as {SIG_KEY: SECRET_SIG, value}. */
  readonly wireInputs: Record<string, any>;
  readonly options: {
    readonly deleteBeforeReplace: boolean;
    readonly retainOnDelete: boolean;
    readonly protect: boolean;
    readonly replaceOnChanges: string[];
    readonly ignoreChanges: string[];
    readonly additionalSecretOutputs: string[];
  };
}

export interface ProgramRun {
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, unknown>;
  /** Outputs that were Pulumi secrets. */
  readonly secretOutputs: Set<string>;
  readonly error?: Error;
}

/**
 * The debugger session of the Pulumi SDK's closure serializer, which serializes dynamic providers.
 * The SDK opens it once and keeps the debugger enabled, which is harmless in a real `pulumi up`
 * that loads the program once. Here every run loads the program and its dependencies afresh, and
 * with the debugger on, V8 keeps every script ever compiled: one jest process grew past 20 GB and
 * CI's was killed by the OOM killer. So the debugger is on only while a program runs (enabling it
 * again reports every live script, which is all the serializer needs), and off between runs.
 */
const sdkSessions: inspector.Session[] = [];
const connectSession = inspector.Session.prototype.connect;
inspector.Session.prototype.connect = function (this: inspector.Session) {
  sdkSessions.push(this);
  return connectSession.call(this);
};
function setDebugger(state: "enable" | "disable"): Promise<void[]> {
  return Promise.all(
    sdkSessions.map(
      (session) => new Promise<void>((resolve, reject) => session.post(`Debugger.${state}`, (err) => (err ? reject(err) : resolve()))),
    ),
  );
}

/** Config as the Pulumi CLI would hand it to the program: Pulumi.yaml defaults, then the stack file. */
export function stackConfig(stack: string | undefined): Record<string, string> {
  const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
  const config: Record<string, string> = {};
  const put = (key: string, value: unknown) => {
    const full = key.includes(":") ? key : `${PROJECT}:${key}`;
    config[full] = typeof value === "string" ? value : JSON.stringify(value);
  };
  for (const [key, decl] of Object.entries<any>(project.config ?? {})) {
    if (decl && typeof decl === "object" && "default" in decl) {
      put(key, decl.default);
    }
  }
  if (stack) {
    const stackFile = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    for (const [key, value] of Object.entries(stackFile.config ?? {})) {
      put(key, value);
    }
  }
  return config;
}

/**
 * `config` with settings set or, for undefined, removed: keys without a namespace are the project's
 * (`profile` is `ai-gateway:profile`), others keep theirs (`hcloud:token`).
 */
export function withSettings(
  config: Record<string, string>,
  settings: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const result = { ...config };
  for (const [key, value] of Object.entries(settings)) {
    const fullKey = key.includes(":") ? key : `${PROJECT}:${key}`;
    if (value === undefined) {
      delete result[fullKey];
    } else {
      result[fullKey] = value;
    }
  }
  return result;
}

export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** The id a mocked hcloud resource gets: a stable small number, as Hetzner's ids are numbers (the program converts them with Number()). */
export function numericId(name: string): string {
  return String(parseInt(createHash("sha256").update(name).digest("hex").slice(0, 7), 16));
}

/** The address the mocked primary IPv4 gets (TEST-NET-3, RFC 5737). */
export const MOCK_VPS_IPV4 = "203.0.113.80";

/** Deterministic fake ids and computed outputs, so two runs produce identical graphs. */
function mockState(type: string, name: string, inputs: any): { id: string; state: Record<string, any> } {
  const state: Record<string, any> = { ...inputs };
  if (type.startsWith("hcloud:")) {
    const id = numericId(name);
    if (type === "hcloud:index/primaryIp:PrimaryIp") {
      state.ipAddress = MOCK_VPS_IPV4;
    }
    if (type === "hcloud:index/volume:Volume") {
      // Hetzner's device path for a volume (docs.hetzner.com/cloud/volumes/overview).
      state.linuxDevice = `/dev/disk/by-id/scsi-0HC_Volume_${id}`;
    }
    return { id, state };
  }
  switch (type) {
    case "random:index/randomBytes:RandomBytes":
      state.base64 = createHash("sha256").update(name).digest().subarray(0, inputs.length).toString("base64");
      break;
    case "random:index/randomPassword:RandomPassword":
      // Like the random provider, a new value when the keepers change (a rotation, lib/rotation.ts).
      state.result =
        `${inputs.keepers ? createHash("sha256").update(JSON.stringify(inputs.keepers)).digest("hex").slice(0, 8) : ""}${name.replace(/[^A-Za-z0-9]/g, "")}x${"a".repeat(inputs.length)}`.slice(
          0,
          inputs.length,
        );
      break;
    case "docker:index/remoteImage:RemoteImage":
      state.imageId = `sha256:${Buffer.from(inputs.name).toString("hex").padEnd(64, "0").slice(0, 64)}`;
      state.repoDigest = `${inputs.name}@${state.imageId}`;
      break;
  }
  return { id: `${name}-id`, state };
}

/** The SSH key an existing-key lookup finds (hcloud.getSshKey). */
export const MOCK_HCLOUD_SSH_KEY = {
  id: 4711,
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKwBdQ/OsOFXfIxYbIEYGhs0oQThplH0vTxWL7H2fipr existing@hetzner",
};

function mockCall(token: string, inputs: any): Record<string, any> {
  if (token === "hcloud:index/getSshKey:getSshKey") {
    return { ...inputs, ...MOCK_HCLOUD_SSH_KEY };
  }
  return inputs;
}

/**
 * Runs index.ts for `stack` (or for a raw config when `config` is given) and returns what it
 * registered and exported.
 */
export async function runProgram(options: {
  stack?: string;
  config?: Record<string, string>;
  preview?: boolean;
  /** Program module to run instead of index.ts (e.g. a consumer of the library). */
  program?: string;
}): Promise<ProgramRun> {
  const stack = options.stack ?? "test";
  const config = options.config ?? stackConfig(options.stack);
  const resources: RecordedResource[] = [];
  await setDebugger("enable");

  await pulumi.runtime.setMocks(
    {
      newResource: (args) => mockState(args.type, args.name, args.inputs),
      call: (args) => mockCall(args.token, args.inputs),
    },
    PROJECT,
    stack,
    options.preview ?? false,
  );
  pulumi.runtime.setAllConfig(config, []);

  const monitor: any = pulumi.runtime.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: any) => {
    register(req, (err: any, response: any) => {
      if (!err) {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
          propertyDependencies[key] = deps.getUrnsList();
        });
        resources.push({
          type: req.getType(),
          name: req.getName(),
          urn: response.getUrn(),
          custom: req.getCustom(),
          parent: req.getParent(),
          provider: req.getProvider(),
          dependencies: req.getDependenciesList(),
          propertyDependencies,
          inputs: unwrapSecrets(req.getObject().toJavaScript()),
          wireInputs: req.getObject().toJavaScript(),
          options: {
            deleteBeforeReplace: req.getDeletebeforereplace(),
            retainOnDelete: req.getRetainondelete(),
            protect: req.getProtect(),
            replaceOnChanges: req.getReplaceonchangesList(),
            ignoreChanges: req.getIgnorechangesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          },
        });
      }
      callback(err, response);
    });
  };

  let exported: Record<string, unknown> = {};
  let error: Error | undefined;
  try {
    exported = loadFresh(options.program ?? path.join(ROOT, "index.ts"));
  } catch (e) {
    error = e as Error;
  }

  const outputs: Record<string, unknown> = {};
  const secretOutputs = new Set<string>();
  for (const [key, value] of Object.entries(exported)) {
    if (pulumi.Output.isInstance(value)) {
      outputs[key] = await promiseOf(value as pulumi.Output<unknown>);
      if (await pulumi.isSecret(value as pulumi.Output<unknown>)) {
        secretOutputs.add(key);
      }
    } else {
      outputs[key] = value;
    }
  }
  await (pulumi.runtime as any).waitForRPCs();
  await setDebugger("disable");
  return { resources, outputs, secretOutputs, error };
}

/** Loads a program module afresh, so its top-level code (the Pulumi program) runs again. */
function loadFresh(modulePath: string): Record<string, unknown> {
  if (typeof jest !== "undefined") {
    let exported: Record<string, unknown> = {};
    jest.isolateModules(() => {
      exported = require(modulePath);
    });
    return exported;
  }
  // Outside jest (benchmarks): forget the project's own modules, keep node_modules (the SDK's state).
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(ROOT) && !key.includes(`${path.sep}node_modules${path.sep}`)) {
      delete require.cache[key];
    }
  }
  return require(modulePath);
}

/** Finds the one resource of `type` whose name ends with `suffix`. */
export function find(run: ProgramRun, type: string, suffix: string): RecordedResource {
  const matches = run.resources.filter((r) => r.type === type && r.name.endsWith(suffix));
  if (matches.length !== 1) {
    throw new Error(`expected one ${type} named *${suffix}, found ${matches.map((m) => m.name).join(", ") || "none"}`);
  }
  return matches[0];
}

/**
 * The files a service container is given: its own uploads, or, for a read-only one, those of the
 * never-started container that fills its config volume (components/serviceContainer.ts).
 */
export function filesOf(run: ProgramRun, container: RecordedResource): { file: string; content: string; permissions: string }[] {
  const filler = run.resources.find((r) => r.type === TYPES.container && r.name === `${container.name}-config`);
  return (filler ?? container).inputs.uploads ?? [];
}

export const TYPES = {
  container: "docker:index/container:Container",
  image: "docker:index/remoteImage:RemoteImage",
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  dockerProvider: "pulumi:providers:docker",
  password: "random:index/randomPassword:RandomPassword",
  keyRegistration: "pulumi-nodejs:dynamic/ai-gateway:LitellmKeyRegistration",
  openWebuiSettings: "pulumi-nodejs:dynamic/ai-gateway:OpenWebuiSettings",
  pidsLimit: "pulumi-nodejs:dynamic/ai-gateway:ContainerPidsLimit",
  postgresDataGuard: "pulumi-nodejs:dynamic/ai-gateway:PostgresDataGuard",
  litellmMigration: "pulumi-nodejs:dynamic/ai-gateway:LitellmMigration",
  preUpgradeSnapshot: "pulumi-nodejs:dynamic/ai-gateway:PreUpgradeSnapshot",
} as const;

/** Wire inputs with every secret wrapper replaced by its value. */
export function unwrapSecrets(wire: any): any {
  if (isSecretWrapped(wire)) {
    return unwrapSecrets(wire.value);
  }
  if (Array.isArray(wire)) {
    return wire.map(unwrapSecrets);
  }
  if (typeof wire === "object" && wire !== null) {
    return Object.fromEntries(Object.entries(wire).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return wire;
}

/** True when `node` (part of wire inputs) sits inside a secret wrapper somewhere above `needle`. */
export function isSecretWrapped(node: any): boolean {
  return typeof node === "object" && node !== null && node[SIG_KEY] === SECRET_SIG;
}

/** Paths (a.b[2]) of every string in the wire inputs that contains `needle` outside any secret wrapper. */
export function plainOccurrences(wire: any, needle: string, where = "$"): string[] {
  if (isSecretWrapped(wire)) {
    return [];
  }
  if (typeof wire === "string") {
    return wire.includes(needle) ? [where] : [];
  }
  if (Array.isArray(wire)) {
    return wire.flatMap((item, i) => plainOccurrences(item, needle, `${where}[${i}]`));
  }
  if (typeof wire === "object" && wire !== null) {
    return Object.entries(wire).flatMap(([k, v]) => plainOccurrences(v, needle, `${where}.${k}`));
  }
  return [];
}
