/**
 * `npm run preview-stack -- up|smoke|down|sweep`: ephemeral preview stacks (pr-123) made from
 * Pulumi.preview.yaml, driven through the Pulumi Automation API, which runs the `pulumi` CLI on
 * PATH in the project directory (the working directory) with whatever backend PULUMI_BACKEND_URL
 * or `pulumi login` selects. The command line and the sweep's choice are in previewStackArgs.ts.
 *
 * Exit codes: 0 done, 1 a Pulumi or Docker step failed (or `down` left something behind), 2 bad
 * usage or a stack that is not a preview stack. Nothing it prints holds a secret: the CLI masks
 * secret outputs, and the tool prints only the plain URLs.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { durationMs } from "../lib/durations";
import { DEFAULT_PREVIEW_TTL } from "../lib/previewStacks";
import {
  creationTags,
  DockerObject,
  dockerHostInState,
  dockerObjectsInState,
  formatDuration,
  gatewayLabel,
  isPreviewStack,
  parseCommand,
  PREVIEW_TAGS,
  PreviewCommand,
  sweepPlan,
  TaggedStack,
  USAGE,
  UsageError,
} from "./previewStackArgs";

const PROJECT = "ai-gateway";
const TEMPLATE = "Pulumi.preview.yaml";

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function complain(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The CLI's output, passed through as it comes (secrets are masked by the CLI). */
const streamed = { onOutput: (out: string) => process.stdout.write(out), onError: (err: string) => process.stderr.write(err) };

/** A failure already explained on stderr: the tool exits 1. */
class StepFailed extends Error {}

/**
 * The project directory as an Automation API workspace. A preview stack made by another CI job has
 * no Pulumi.<name>.yaml here: the CLI is told to take its secrets provider (passphrase salt, KMS
 * key) from the stack's state, where it would otherwise mint an unrelated one (pulumi 3.274.1
 * secrets/passphrase/manager.go, pulumi/pulumi#16412). An explicit setting in the environment wins.
 */
async function workspace(secretsProvider?: string): Promise<LocalWorkspace> {
  return LocalWorkspace.create({
    workDir: process.cwd(),
    ...(secretsProvider !== undefined ? { secretsProvider } : {}),
    envVars: { PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: process.env.PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER ?? "true" },
  });
}

/** The backend's stack names, without an organization/project prefix. */
async function stackNames(ws: LocalWorkspace): Promise<string[]> {
  return (await ws.listStacks()).map((s) => s.name.split("/").pop() ?? s.name);
}

/** The template's settings, as `pulumi config set` stores them (strings). */
function templateConfig(): Record<string, { value: string }> {
  const file = path.join(process.cwd(), TEMPLATE);
  const config = (parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> }).config ?? {};
  // Lists and maps (apiKeys, models, dockerSshOpts) as the JSON the program parses them from.
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, { value: typeof value === "string" ? value : JSON.stringify(value) }]),
  );
}

/** Whether a stack file's settings say `ephemeral: true` (a preview stack's, or the template's). */
function saysEphemeral(text: string): boolean {
  const config = (parse(text) as { config?: Record<string, unknown> } | null)?.config ?? {};
  return config[`${PROJECT}:ephemeral`] === true || config[`${PROJECT}:ephemeral`] === "true";
}

/** Runs a Pulumi step; a failure (already streamed to the terminal) becomes one line and StepFailed. */
async function pulumiStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    // CommandError's message repeats the whole output (already shown): keep its first line.
    complain(`preview-stack: ${what} failed: ${String((e as Error).message).split("\n")[0]}`);
    throw new StepFailed(what);
  }
}

async function up(command: Extract<PreviewCommand, { kind: "up" }>): Promise<number> {
  const { name } = command;
  const ws = await workspace(command.secretsProvider);
  const isNew = !(await stackNames(ws)).includes(name);
  const stackFile = path.join(process.cwd(), `Pulumi.${name}.yaml`);
  // A stack file of another kind (say Pulumi.small.yaml for `up small`) must not be turned into a
  // preview: the template would rewrite its settings, and down and sweep would later remove it.
  if (isNew && fs.existsSync(stackFile) && !saysEphemeral(fs.readFileSync(stackFile, "utf8"))) {
    complain(`preview-stack: Pulumi.${name}.yaml is the file of a stack that is not ephemeral: choose another name for a preview stack`);
    return 2;
  }
  if (isNew) {
    await pulumiStep(`creating stack ${name}`, () => ws.createStack(name));
    // Tagged first, so that a stack whose first up fails is still one that down and sweep remove.
    for (const [key, value] of Object.entries(creationTags(new Date(), DEFAULT_PREVIEW_TTL))) {
      await ws.setTag(name, key, value);
    }
  } else if (!isPreviewStack(await ws.listTags(name))) {
    complain(`preview-stack: stack ${name} exists and is not a preview stack (no ${PREVIEW_TAGS.preview}=true tag): choose another name`);
    return 2;
  }
  // A new stack, or one created elsewhere (another CI job) whose stack file this checkout lacks.
  if (isNew || !fs.existsSync(stackFile)) {
    await pulumiStep(`setting ${name}'s settings from ${TEMPLATE}`, () => ws.setAllConfig(name, templateConfig()));
  }
  if (command.settings.length > 0) {
    const values = Object.fromEntries(command.settings.map(([key, value]) => [`${PROJECT}:${key}`, { value }]));
    await pulumiStep(`setting ${name}'s --set values`, () => ws.setAllConfig(name, values));
  }
  const config = await ws.getAllConfig(name);
  // A stack file of another kind (say Pulumi.small.yaml for `up small`) would deploy a permanent
  // stack, with fixed ports and kept volumes, that down and sweep would later treat as a preview.
  if (config[`${PROJECT}:ephemeral`]?.value !== "true") {
    complain(
      `preview-stack: stack ${name}'s settings (Pulumi.${name}.yaml) do not say ephemeral: true: a preview stack is made from ${TEMPLATE}; choose another name`,
    );
    return 2;
  }
  const ttl = config[`${PROJECT}:previewTtl`]?.value ?? DEFAULT_PREVIEW_TTL;
  // The program refuses a bad previewTtl with one line; the tag then keeps its last good value.
  if (durationMs(ttl) !== undefined) {
    await ws.setTag(name, PREVIEW_TAGS.ttl, ttl);
  }
  const stack = await Stack.select(name, ws);
  const policies = { policyPacks: [...command.policyPacks], policyPackConfigs: [...command.policyPackConfigs] };
  await pulumiStep(`pulumi up of ${name}`, () => stack.up({ ...streamed, ...policies, suppressOutputs: true, color: "never" }));
  const outputs = await stack.outputs();
  const plain = (key: string) => (outputs[key] && !outputs[key].secret ? String(outputs[key].value) : "(not exported)");
  say(`\n${name} is up (ttl ${ttl}; created ${(await ws.listTags(name))[PREVIEW_TAGS.created] ?? "?"}):`);
  say(`  Open WebUI  ${plain("openWebuiUrl")}`);
  say(`  API         ${plain("apiBaseUrl")}`);
  say(`  Admin UI    ${plain("adminUiUrl")} (admin listener, on the Docker host)`);
  say(`  smoke test: npm run preview-stack -- smoke ${name}    remove: npm run preview-stack -- down ${name}`);
  return 0;
}

/** Runs a command, never through a shell; resolves with its exit code and output. */
function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : 127) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * What Docker still has of stack `name`: each container, network and volume its state recorded
 * (by name), and anything else labelled with its gateway. Asked through the docker CLI where the
 * host is a local socket; for another host, the commands to run there.
 */
async function leftovers(
  name: string,
  dockerHost: string | undefined,
  recorded: readonly DockerObject[],
): Promise<{ checked: boolean; lines: string[] }> {
  const label = gatewayLabel(name);
  const queries: [DockerObject["kind"], string[]][] = [
    ["container", ["ps", "-a", "--filter", `label=${label}`, "--format", "{{.Names}}"]],
    ["network", ["network", "ls", "--filter", `label=${label}`, "--format", "{{.Name}}"]],
    ["volume", ["volume", "ls", "--filter", `label=${label}`, "--format", "{{.Name}}"]],
  ];
  if (dockerHost === undefined || !dockerHost.startsWith("unix://")) {
    const where = dockerHost === undefined ? "its Docker host is not in its state" : `${dockerHost} is not a local socket`;
    const volumes = recorded.filter((o) => o.kind === "volume").map((o) => o.name);
    return {
      checked: false,
      lines: [
        `not checked (${where}); on the Docker host run: ${queries.map(([, a]) => `docker ${a.join(" ")}`).join("; ")}; docker volume inspect ${volumes.join(" ")}`,
      ],
    };
  }
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  const found = new Set<string>();
  for (const [kind, args] of queries) {
    const result = await run("docker", args, env);
    if (result.code !== 0) {
      return {
        checked: false,
        lines: [`not checked: docker ${args.slice(0, 2).join(" ")} exited ${result.code}: ${result.stderr.trim().split("\n")[0]}`],
      };
    }
    result.stdout
      .split("\n")
      .filter(Boolean)
      .forEach((n) => found.add(`${kind} ${n}`));
  }
  for (const { kind, name: objectName } of recorded) {
    if ((await run("docker", [kind, "inspect", "--format", "{{.Name}}", objectName], env)).code === 0) {
      found.add(`${kind} ${objectName}`);
    }
  }
  return { checked: true, lines: [...found].sort() };
}

/** Destroys and removes one preview stack, then looks for what Docker still has of it; true when nothing is left. */
async function downStack(ws: LocalWorkspace, name: string): Promise<boolean> {
  const state = await pulumiStep(`reading ${name}'s state`, () => ws.exportStack(name));
  const recorded = dockerObjectsInState(state.deployment);
  const stack = await Stack.select(name, ws);
  await pulumiStep(`pulumi destroy of ${name}`, () => stack.destroy({ ...streamed, color: "never" }));
  await pulumiStep(`removing stack ${name}`, () => ws.removeStack(name));
  const dockerHost = dockerHostInState(state.deployment);
  if (dockerHost === undefined && recorded.length === 0) {
    // Without a docker provider in its state, nothing of it was ever created in Docker.
    say(`${name} is gone: nothing of it had been deployed.`);
    return true;
  }
  const left = await leftovers(name, dockerHost, recorded);
  if (left.checked && left.lines.length === 0) {
    say(
      `${name} is gone: none of its ${recorded.length} containers, networks and volumes is left, nor anything labelled ${gatewayLabel(name)}.`,
    );
  } else if (left.checked) {
    complain(`preview-stack: ${name}'s stack is removed, but Docker still has: ${left.lines.join(", ")}`);
  } else {
    say(`${name}'s stack is removed; leftovers ${left.lines.join("")}`);
  }
  say(
    "Images it pulled stay in the Docker engine (kept locally and shared with other stacks): docker image prune -a reclaims unused ones.",
  );
  return !(left.checked && left.lines.length > 0);
}

async function down(name: string): Promise<number> {
  const ws = await workspace();
  if (!(await stackNames(ws)).includes(name)) {
    say(`preview-stack: there is no stack ${name}: nothing to remove.`);
    return 0;
  }
  if (!isPreviewStack(await ws.listTags(name))) {
    complain(`preview-stack: stack ${name} is not a preview stack (no ${PREVIEW_TAGS.preview}=true tag): down removes preview stacks only`);
    return 2;
  }
  return (await downStack(ws, name)) ? 0 : 1;
}

async function sweep(command: Extract<PreviewCommand, { kind: "sweep" }>): Promise<number> {
  const ws = await workspace();
  const stacks: TaggedStack[] = [];
  for (const name of await stackNames(ws)) {
    stacks.push({ name, tags: await ws.listTags(name) });
  }
  const plan = sweepPlan(stacks, new Date(), command.olderThanMs);
  const row = (what: string, e: { name: string; ageMs?: number; limitMs?: number; note?: string }) =>
    `  ${what.padEnd(8)} ${e.name.padEnd(40)} age ${e.ageMs === undefined ? "?" : formatDuration(e.ageMs)}` +
    (e.limitMs !== undefined ? `, limit ${formatDuration(e.limitMs)}` : "") +
    (e.note ? ` (${e.note})` : "");
  say(
    `preview stacks: ${plan.expired.length} expired, ${plan.kept.length} kept, ${plan.skipped.length} skipped${command.dryRun ? " (dry run)" : ""}`,
  );
  plan.expired.forEach((e) => say(row(command.dryRun ? "would go" : "expired", e)));
  plan.kept.forEach((e) => say(row("kept", e)));
  plan.skipped.forEach((e) => say(row("skipped", e)));
  if (command.dryRun) {
    return 0;
  }
  let failed = 0;
  for (const entry of plan.expired) {
    say(`\n--- down ${entry.name}`);
    try {
      if (!(await downStack(ws, entry.name))) {
        failed++;
      }
    } catch (e) {
      if (!(e instanceof StepFailed)) {
        throw e;
      }
      failed++;
    }
  }
  return failed > 0 ? 1 : 0;
}

/** `npm run smoke -- --stack NAME ...`, as a process of its own (tools/smoke.ts). */
function smoke(name: string, smokeArgs: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", "smoke", "--", "--stack", name, ...smokeArgs], { stdio: "inherit" });
    child.on("error", (e) => {
      complain(`preview-stack: could not run npm run smoke: ${e.message}`);
      resolve(1);
    });
    child.on("close", (code) => resolve(code ?? 1));
  });
}

async function main(argv: readonly string[]): Promise<number> {
  let command: PreviewCommand;
  try {
    command = parseCommand(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      complain(e.message);
      return 2;
    }
    throw e;
  }
  try {
    switch (command.kind) {
      case "help":
        say(USAGE);
        return 0;
      case "up":
        return await up(command);
      case "smoke":
        return await smoke(command.name, command.smokeArgs);
      case "down":
        return await down(command.name);
      case "sweep":
        return await sweep(command);
    }
  } catch (e) {
    if (e instanceof StepFailed) {
      return 1;
    }
    complain(`preview-stack: ${String((e as Error).message).split("\n")[0]}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
