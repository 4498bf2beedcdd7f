/**
 * The policies of ai-gateway's pack (README: "Policy pack"), as an array index.ts serves and the
 * unit tests (tests/policy) run directly: the PolicyPack constructor starts a gRPC server, so
 * nothing here constructs one.
 *
 * Each policy reads a resource the way the analyzer receives it (analyzerInputs.ts: the inputs,
 * after the provider's Check, with the program's secret marks kept; the options protect,
 * ignoreChanges, deleteBeforeReplace, additionalSecretOutputs, aliases, customTimeouts and parent,
 * and no others: pulumi 3.274.1 analyzer_plugin.go marshalResourceOptions, so retainOnDelete and
 * replaceOnChanges are invisible to any policy). A field not known during a preview is skipped,
 * not guessed.
 */
import { EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { NGINX_ADMIN_PORT } from "../lib/constants";
import { SSH_FROM_ANYWHERE_KEY, SSH_FROM_ANYWHERE_LABEL, SSH_PORT } from "../lib/firewall";
import { inputsOf } from "./analyzerInputs";
import { durationNotCanonical, imageNotPinned, plainSecrets, portCovers, wholeInternet } from "./rules";
import { field, Inputs, isRecord, reveal, stringList, Unknown, Value } from "./values";

/** Resource types the policies look at (each class's `__pulumiType`). */
export const TYPES = {
  container: "docker:index/container:Container",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  volume: "docker:index/volume:Volume",
  firewall: "hcloud:index/firewall:Firewall",
  server: "hcloud:index/server:Server",
} as const;

/** The label that marks the reverse proxy, the one container allowed to publish host ports (components/nginx.ts). */
export const SERVICE_LABEL = "ai-gateway.service";
export const REVERSE_PROXY = "nginx";

/** Where the admin listener may be published without being allow-listed. */
export const ADMIN_LOOPBACK = "127.0.0.1";

/** The enforcement levels the Pulumi CLI accepts in a --policy-pack-config file. */
export const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** What a policy body sees of one resource. */
export interface PolicyResource {
  readonly type: string;
  /** The resource's Pulumi name (the last URN part). */
  readonly name: string;
  readonly inputs: Inputs;
  readonly opts: ResourceValidationArgs["opts"];
  /** The policy's settings from --policy-pack-config (without enforcementLevel). */
  readonly config: Record<string, unknown>;
}

/** A policy body: the violations it finds, each a sentence naming the resource and what to change. */
type Check = (resource: PolicyResource) => string[];

function policy(
  name: string,
  description: string,
  enforcementLevel: EnforcementLevel,
  check: Check,
  extra: Partial<ResourceValidationPolicy> = {},
): ResourceValidationPolicy {
  return {
    name,
    description,
    enforcementLevel,
    ...extra,
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
      const resource: PolicyResource = {
        type: args.type,
        name: args.name,
        inputs: inputsOf(args.props),
        opts: args.opts,
        config: args.getConfig<Record<string, unknown>>(),
      };
      for (const message of check(resource)) {
        reportViolation(message);
      }
    },
  };
}

/** `docker container "<name>" (resource <pulumi name>)`, or the resource alone when the name is not known. */
function describeContainer(resource: PolicyResource): string {
  const name = field(resource.inputs, "name");
  return typeof name === "string" ? `docker container "${name}" (resource ${resource.name})` : `docker container resource ${resource.name}`;
}

/**
 * A container that runs: one created with `start: false` never starts (the config-volume fillers
 * of components/serviceContainer.ts), so a healthcheck, memory limit or restart policy means
 * nothing for it.
 */
function runs(inputs: Inputs): boolean {
  return field(inputs, "start") !== false;
}

/** A container policy: `check` runs for containers only, with their description. */
function containerCheck(check: (inputs: Inputs, who: string) => string[], options: { runningOnly: boolean }): Check {
  return (resource) => {
    if (resource.type !== TYPES.container || (options.runningOnly && !runs(resource.inputs))) {
      return [];
    }
    return check(resource.inputs, describeContainer(resource));
  };
}

const known = (value: Value | undefined): boolean => !(value instanceof Unknown);

// ---- mandatory: container hardening ----------------------------------------------------------

const containerHealthcheck = policy(
  "container-healthcheck",
  "Every running container has a healthcheck: `pulumi up` waits for it on create (wait: true), Docker reports an unhealthy service, and the gateway's start order follows health.",
  "mandatory",
  containerCheck(
    (inputs, who) => {
      const healthcheck = field(inputs, "healthcheck");
      if (!known(healthcheck)) {
        return [];
      }
      const tests = stringList(field(healthcheck, "tests"));
      if (tests === undefined || tests.length === 0 || tests[0] === "NONE") {
        return [
          `${who} has no healthcheck: set healthcheck.tests to a command that succeeds when the service answers (lib/healthchecks.ts).`,
        ];
      }
      return [];
    },
    { runningOnly: true },
  ),
);

const containerMemoryLimit = policy(
  "container-memory-limit",
  "Every running container has a memory limit and a memorySwap equal to it: one service cannot take the host's memory, the host's swap is not used, and Docker's default swap (twice the memory) would read back as a change on every preview.",
  "mandatory",
  containerCheck(
    (inputs, who) => {
      const memory = field(inputs, "memory");
      const swap = field(inputs, "memorySwap");
      if (!known(memory) || !known(swap)) {
        return [];
      }
      if (typeof memory !== "number" || memory <= 0) {
        return [`${who} has no memory limit: set memory (MB) and memorySwap to the same value.`];
      }
      if (swap !== memory) {
        return [`${who} has memory ${memory} MB but memorySwap ${swap ?? "unset"}: set memorySwap to ${memory}.`];
      }
      return [];
    },
    { runningOnly: true },
  ),
);

const RESTART_POLICIES = ["unless-stopped", "always", "on-failure"];

const containerRestartPolicy = policy(
  "container-restart-policy",
  "Every running container has a restart policy, so a crashed service or a rebooted host comes back without a `pulumi up`.",
  "mandatory",
  containerCheck(
    (inputs, who) => {
      const restart = field(inputs, "restart");
      if (!known(restart) || (typeof restart === "string" && RESTART_POLICIES.includes(restart))) {
        return [];
      }
      return [`${who} has restart ${restart ?? "unset (no)"}: set restart to unless-stopped (or always, on-failure).`];
    },
    { runningOnly: true },
  ),
);

const containerLogRotation = policy(
  "container-log-rotation",
  "Every container logs to json-file with rotation (max-size and max-file), so its logs cannot fill the Docker host's disk.",
  "mandatory",
  containerCheck(
    (inputs, who) => {
      const driver = field(inputs, "logDriver");
      const opts = field(inputs, "logOpts");
      if (!known(driver) || !known(opts)) {
        return [];
      }
      const missing = ["max-size", "max-file"].filter((key) => !isRecord(opts) || typeof opts[key] !== "string" || opts[key] === "");
      if (driver !== "json-file" || missing.length > 0) {
        return [
          `${who} logs ${driver === "json-file" ? "to json-file" : `with driver ${driver ?? "unset (the daemon's default)"}`}${missing.length > 0 ? ` without ${missing.join(" and ")}` : ""}: set logDriver json-file and logOpts { "max-size": "10m", "max-file": "3" } (lib/constants.ts LOG_OPTIONS).`,
        ];
      }
      return [];
    },
    { runningOnly: false },
  ),
);

const containerNoNewPrivileges = policy(
  "container-no-new-privileges",
  "Every container runs with no-new-privileges: no process in it can gain privileges through setuid or file capabilities.",
  "mandatory",
  containerCheck(
    (inputs, who) => {
      const opts = field(inputs, "securityOpts");
      if (!known(opts)) {
        return [];
      }
      const list = stringList(opts) ?? [];
      if (list.some((opt) => /^no-new-privileges([:=]true)?$/.test(opt))) {
        return [];
      }
      return [`${who} lacks no-new-privileges: add "no-new-privileges=true" to securityOpts.`];
    },
    { runningOnly: false },
  ),
);

// ---- mandatory: images -----------------------------------------------------------------------

const imagesPinned = policy(
  "images-pinned",
  "Every image is pinned to a version tag or a digest: a rolling tag (latest, a bare major) changes what a stack runs without any change to the stack, and the provider does not even pull it again.",
  "mandatory",
  (resource) => {
    const reference =
      resource.type === TYPES.remoteImage
        ? field(resource.inputs, "name")
        : resource.type === TYPES.container
          ? field(resource.inputs, "image")
          : undefined;
    if (typeof reference !== "string") {
      return [];
    }
    const why = imageNotPinned(reference);
    if (why === undefined) {
      return [];
    }
    const who = resource.type === TYPES.container ? describeContainer(resource) : `docker image resource ${resource.name}`;
    return [`${who} uses image ${reference}, and ${why}: pin a version tag (e.g. nginx:1.30.5-alpine) or a digest (name@sha256:...).`];
  },
);

// ---- mandatory: published ports --------------------------------------------------------------

/** The label of a container, from the provider's list of {label, value}. */
function containerLabel(inputs: Inputs, label: string): string | undefined {
  const labels = reveal(field(inputs, "labels") ?? null);
  if (!Array.isArray(labels)) {
    return undefined;
  }
  const entry = labels.find((item) => isRecord(item) && item.label === label);
  return isRecord(entry) && typeof entry.value === "string" ? entry.value : undefined;
}

const hostPorts = policy(
  "host-ports-reverse-proxy-only",
  `Only the reverse proxy (the container labelled ${SERVICE_LABEL}=${REVERSE_PROXY}) publishes host ports, and its admin listener (LiteLLM's admin UI and management API, container port ${NGINX_ADMIN_PORT}) only on ${ADMIN_LOOPBACK} unless the address is in this policy's adminBindAllowList: everything else is reachable through nginx's routes alone.`,
  "mandatory",
  (resource) => {
    if (resource.type !== TYPES.container) {
      return [];
    }
    const who = describeContainer(resource);
    const ports = reveal(field(resource.inputs, "ports") ?? null);
    const networkMode = field(resource.inputs, "networkMode");
    const isProxy = containerLabel(resource.inputs, SERVICE_LABEL) === REVERSE_PROXY;
    const violations: string[] = [];
    if (!isProxy && networkMode === "host") {
      violations.push(
        `${who} uses the host's network, which exposes every port it listens on: join the gateway's networks and let nginx proxy to it.`,
      );
    }
    if (!Array.isArray(ports)) {
      return violations;
    }
    if (!isProxy && ports.length > 0) {
      violations.push(`${who} publishes host ports, but only the reverse proxy may: remove its ports and route to it through nginx.`);
      return violations;
    }
    const allowed = [ADMIN_LOOPBACK, ...allowList(resource.config.adminBindAllowList)];
    for (const port of ports) {
      if (!isRecord(port) || port.internal !== NGINX_ADMIN_PORT || port.ip instanceof Unknown) {
        continue;
      }
      const ip = typeof port.ip === "string" ? port.ip : "0.0.0.0";
      if (!allowed.includes(ip)) {
        violations.push(
          `${who} publishes the admin listener (container port ${NGINX_ADMIN_PORT}) on ${ip}: bind it to ${ADMIN_LOOPBACK} (adminBindAddress), or add ${ip} to adminBindAllowList in the policy pack config.`,
        );
      }
    }
    return violations;
  },
  {
    configSchema: {
      properties: {
        adminBindAllowList: {
          type: "array",
          items: { type: "string" },
          description: "Host addresses besides 127.0.0.1 the admin listener may be published on (e.g. a VPN address).",
        },
      },
    },
  },
);

function allowList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

// ---- mandatory: secrets ----------------------------------------------------------------------

const noPlainSecrets = policy(
  "no-plain-secrets",
  "No secret value in an input the program did not mark secret: plain inputs are stored unencrypted in the state and shown by `pulumi preview --diff`. Wrap the value in pulumi.secret() (or read it with config.requireSecret).",
  "mandatory",
  (resource) =>
    plainSecrets(resource.inputs).map(
      (found) =>
        `${resource.type} ${resource.name}: ${found.path} holds ${found.kind} in plain text: mark it secret (pulumi.secret) where the program builds it.`,
    ),
);

// ---- mandatory: healthcheck durations --------------------------------------------------------

const DURATION_FIELDS = ["interval", "timeout", "startPeriod", "startInterval"];

const healthcheckDurations = policy(
  "healthcheck-durations-canonical",
  "Healthcheck durations are written as Go prints them (10s, 1m0s, 1m30s): the docker provider reads them back in that form, so any other spelling (90s, 1m) shows a change, and replaces the container, on every `pulumi up`.",
  "mandatory",
  containerCheck(
    (inputs, who) => {
      const healthcheck = field(inputs, "healthcheck");
      if (!isRecord(healthcheck)) {
        return [];
      }
      return DURATION_FIELDS.flatMap((key) => {
        const value = healthcheck[key];
        if (typeof value !== "string") {
          return [];
        }
        const why = durationNotCanonical(value);
        return why === undefined ? [] : [`${who} healthcheck.${key}: ${why} (lib/durations.ts goDuration).`];
      });
    },
    { runningOnly: false },
  ),
);

// ---- mandatory: data volumes -----------------------------------------------------------------

/** Inputs of a docker Volume that `ignoreChanges` must cover: every other input replaces it when changed. */
const VOLUME_FIXED_INPUTS = ["name", "driver"];

function isDataVolume(resource: PolicyResource): boolean {
  const name = field(resource.inputs, "name");
  return resource.type === TYPES.volume && (resource.name.endsWith("-data") || (typeof name === "string" && name.endsWith("-data")));
}

const dataVolumesKept = policy(
  "data-volumes-never-replaced",
  "A data volume (*-data: PostgreSQL's, Open WebUI's) is never replaced: every docker Volume input forces a new, empty volume when it changes, so its name and driver are fixed at creation (ignoreChanges) and it sets no other input (labels, driverOpts). That it is also kept on `pulumi destroy` (retainOnDelete unless the stack is ephemeral) is invisible to any policy and is checked by tests/program instead.",
  "mandatory",
  (resource) => {
    if (!isDataVolume(resource)) {
      return [];
    }
    const who = `docker volume resource ${resource.name}`;
    const violations: string[] = [];
    const unignored = VOLUME_FIXED_INPUTS.filter((key) => !resource.opts.ignoreChanges.includes(key));
    if (unignored.length > 0) {
      violations.push(
        `${who} does not ignore changes to ${unignored.join(" and ")}: a new value would replace it with an empty volume; add them to ignoreChanges (components/serviceContainer.ts dataVolume).`,
      );
    }
    const others = Object.keys(resource.inputs).filter(
      (key) => !VOLUME_FIXED_INPUTS.includes(key) && !resource.opts.ignoreChanges.includes(key) && !isEmpty(resource.inputs[key]),
    );
    if (others.length > 0) {
      violations.push(
        `${who} sets ${others.join(", ")}, and any change to ${others.length > 1 ? "them" : "it"} replaces the volume with an empty one: remove ${others.length > 1 ? "them" : "it"} (label its containers instead).`,
      );
    }
    return violations;
  },
);

function isEmpty(value: Value): boolean {
  const plain = reveal(value);
  return plain === null || (Array.isArray(plain) && plain.length === 0) || (isRecord(plain) && Object.keys(plain).length === 0);
}

// ---- mandatory: the VPS firewall -------------------------------------------------------------

const firewallSsh = policy(
  "firewall-ssh-not-open",
  `The VPS firewall never opens SSH (tcp ${SSH_PORT}) to the whole internet (0.0.0.0/0, ::/0) unless the stack says so (${SSH_FROM_ANYWHERE_KEY}: true, which labels the firewall ${SSH_FROM_ANYWHERE_LABEL}=true): password-guessing bots scan every address.`,
  "mandatory",
  (resource) => {
    if (resource.type !== TYPES.firewall) {
      return [];
    }
    const labels = field(resource.inputs, "labels");
    if (!known(labels) || (isRecord(labels) && labels[SSH_FROM_ANYWHERE_LABEL] === "true")) {
      return [];
    }
    const rules = reveal(field(resource.inputs, "rules") ?? null);
    if (!Array.isArray(rules)) {
      return [];
    }
    return rules.flatMap((rule, index) => {
      if (!isRecord(rule) || rule.direction !== "in" || rule.protocol !== "tcp") {
        return [];
      }
      const port = typeof rule.port === "string" ? rule.port : undefined;
      const open = wholeInternet(stringList(rule.sourceIps) ?? []);
      if (!portCovers(port, SSH_PORT) || open.length === 0) {
        return [];
      }
      return [
        `hcloud firewall resource ${resource.name}: rules[${index}] opens tcp ${port ?? "any"} (SSH) to ${open.join(", ")}: list your own networks in vpsSshAllowedCidrs, or set ${SSH_FROM_ANYWHERE_KEY}: true to mean it.`,
      ];
    });
  },
);

// ---- advisory: convergence traps -------------------------------------------------------------

/**
 * The convergence traps of docs pulumi-facts §1.3 that a policy can see: each makes `pulumi preview`
 * show a change (often a replacement) on every run although nothing changed.
 */
function convergenceTraps(resource: PolicyResource): string[] {
  const inputs = resource.inputs;
  if (resource.type === TYPES.remoteImage) {
    return field(inputs, "keepLocally") === true
      ? []
      : [
          `docker image resource ${resource.name} has no keepLocally: true: replacing or deleting it deletes an image other stacks may use.`,
        ];
  }
  if (resource.type === TYPES.server) {
    const userData = field(inputs, "userData");
    return userData !== undefined && userData !== null && !resource.opts.ignoreChanges.includes("userData")
      ? [
          `hcloud server resource ${resource.name} does not ignore changes to userData, which is read on the first boot only: any change to it replaces the server; add userData to ignoreChanges.`,
        ]
      : [];
  }
  if (resource.type !== TYPES.container) {
    return [];
  }
  const who = describeContainer(resource);
  const traps: string[] = [];
  const image = field(inputs, "image");
  if (typeof image === "string" && !image.startsWith("sha256:")) {
    traps.push(`${who} names its image (${image}) instead of an id: the provider reads back the id, use a RemoteImage's imageId.`);
  }
  const ports = reveal(field(inputs, "ports") ?? null);
  if (Array.isArray(ports)) {
    const internals = ports.map((port) => (isRecord(port) && typeof port.internal === "number" ? port.internal : NaN));
    if (internals.some((port, i) => i > 0 && port < internals[i - 1])) {
      traps.push(`${who} lists ports out of order: the provider reads them back sorted by internal port; sort them.`);
    }
    if (ports.some((port) => isRecord(port) && port.ip === "::")) {
      traps.push(
        `${who} publishes a port on "::": dual-stack bindings replace the container on every apply (kreuzwerker/terraform-provider-docker#909); publish on an IPv4 address.`,
      );
    }
  }
  const adds = stringList(field(field(inputs, "capabilities"), "adds")) ?? [];
  const unprefixed = adds.filter((cap) => cap !== "ALL" && !cap.startsWith("CAP_"));
  if (unprefixed.length > 0) {
    traps.push(
      `${who} adds capabilities ${unprefixed.join(", ")} without the CAP_ prefix the engine reports: write ${unprefixed.map((c) => `CAP_${c}`).join(", ")}.`,
    );
  }
  if (field(inputs, "networkMode") === undefined) {
    traps.push(
      `${who} leaves networkMode unset, which some provider versions show as a change on every run (pulumi/pulumi-docker#1272): set networkMode "bridge".`,
    );
  }
  if (field(inputs, "name") !== undefined && resource.opts.deleteBeforeReplace !== true) {
    traps.push(
      `${who} has a fixed name but no deleteBeforeReplace: a replacement would create the new container while the old one holds the name; set deleteBeforeReplace: true.`,
    );
  }
  if (field(inputs, "start") === false && field(inputs, "mustRun") !== false) {
    traps.push(`${who} is never started but mustRun is not false: the provider would start it on the next update; set mustRun: false.`);
  }
  return traps;
}

const convergence = policy(
  "convergence-traps",
  "Advisory: inputs the docker and hcloud providers read back differently from how they were written, or that replace a resource on any change (pulumi-facts §1.3); each shows up as a change on every preview.",
  "advisory",
  convergenceTraps,
);

/** Every policy of the pack, in the order they report. */
export const policies: ResourceValidationPolicy[] = [
  containerHealthcheck,
  containerMemoryLimit,
  containerRestartPolicy,
  containerLogRotation,
  containerNoNewPrivileges,
  imagesPinned,
  hostPorts,
  noPlainSecrets,
  healthcheckDurations,
  dataVolumesKept,
  firewallSsh,
  convergence,
];

/** The policies' names, as a --policy-pack-config file must spell them. */
export const POLICY_NAMES: readonly string[] = policies.map((p) => p.name);
