/**
 * `npm run smoke -- --stack NAME [--public-url URL] [--admin-url URL] [--skip-convergence]`: checks a
 * deployed gateway without any cost at a provider (lib/smokeChecks.ts), then that the stack
 * converges (`pulumi preview --expect-no-changes`). It reads the stack's outputs through the Pulumi
 * Automation API in the project directory (cwd), with whatever backend and secrets provider the
 * environment selects; secrets stay in this process. Prints a table; exit 0 when every check
 * passes, 1 when one fails, 2 on a bad command line.
 */
import { LocalWorkspace, OutputMap, Stack } from "@pulumi/pulumi/automation";
import { OPEN_WEBUI_CONSUMER, KeyRecord } from "../lib/virtualKeys";
import { CheckRow, parseSmokeArgs, renderTable, smokeExitCode, summary, UsageError, withOrigin } from "../lib/smoke";
import { httpChecks } from "../lib/smokeChecks";
import { scrubSecrets } from "../lib/scrub";

function output<T>(outputs: OutputMap, name: string): T {
  const value = outputs[name]?.value;
  if (value === undefined) {
    throw new Error(`the stack has no ${name} output: run \`pulumi up\` with this version of the package first`);
  }
  return value as T;
}

/** `pulumi preview --expect-no-changes`, as a row: the resources it would change, if any. */
async function convergence(stack: Stack, secrets: readonly string[]): Promise<CheckRow> {
  const check = "pulumi preview --expect-no-changes";
  // One entry per resource: a replacement's three steps (create-replacement, replace,
  // delete-replaced) read as "replace".
  const changes = new Map<string, string>();
  try {
    await stack.preview({
      expectNoChanges: true,
      onEvent: (event) => {
        const step = event.resourcePreEvent?.metadata;
        if (step && step.op !== "same" && step.op !== "read") {
          const name = step.urn.split("::").pop() ?? step.urn;
          const op = step.op.includes("replace") ? "replace" : step.op;
          changes.set(name, changes.get(name) === "replace" ? "replace" : op);
        }
      },
    });
    return { check, result: "PASS", detail: "no changes" };
  } catch (error) {
    const last = String((error as Error).message)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /error/i.test(l))
      .pop();
    const detail =
      changes.size > 0
        ? `changes proposed: ${[...changes].map(([name, op]) => `${op} ${name}`).join(", ")}`
        : (last ?? "pulumi preview failed");
    return { check, result: "FAIL", detail: scrubSecrets(detail, secrets, 300) };
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseSmokeArgs(argv);
  const stack = await LocalWorkspace.selectStack({ stackName: options.stack, workDir: process.cwd() });
  const outputs = await stack.outputs();
  const masterKey = output<string>(outputs, "litellmMasterKey");
  const keys: Record<string, string> = {
    [OPEN_WEBUI_CONSUMER]: output<string>(outputs, "openWebuiApiKey"),
    ...output<Record<string, string>>(outputs, "apiKeys"),
  };
  const secrets = [masterKey, ...Object.values(keys)];
  const adminUiUrl = output<string>(outputs, "adminUiUrl");
  const rows = await httpChecks({
    openWebuiUrl: withOrigin(output<string>(outputs, "openWebuiUrl"), options.publicUrl),
    apiBaseUrl: withOrigin(output<string>(outputs, "apiBaseUrl"), options.publicUrl),
    adminOrigin: options.adminUrl ?? new URL(adminUiUrl).origin,
    adminHint:
      options.adminUrl === undefined
        ? "it listens on the Docker host's loopback: open the ssh tunnel of the adminUiAccess output (vps.adminTunnel on a VPS) and pass --admin-url http://127.0.0.1:<local port>"
        : undefined,
    keys,
    masterKey,
    declared: output<Record<string, KeyRecord>>(outputs, "declaredKeys"),
  });
  rows.push(
    options.skipConvergence
      ? { check: "pulumi preview --expect-no-changes", result: "SKIP", detail: "--skip-convergence" }
      : await convergence(stack, secrets),
  );
  process.stdout.write(`smoke test of stack ${options.stack}\n${renderTable(rows)}\n${summary(rows)}\n`);
  return smokeExitCode(rows);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    // A usage error, or no stack or outputs to check: one line, never a secret (scrubbed of key shapes).
    // The Automation API's errors start with "code: 255"; the CLI's own line says what went wrong.
    const lines = String(error.message).split("\n");
    const line = lines.find((l) => /\berror: /.test(l))?.trim() ?? lines[0];
    process.stderr.write(`smoke: ${scrubSecrets(line, [], 300)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
