/**
 * The GitHub Actions workflows (.github/workflows): actionlint, built from its Go module by
 * scripts/actionlint.sh, with shellcheck on every `run:` script, passes on each of them and fails,
 * naming the problem, on broken copies; the gate job's shell step runs for real; and the rules
 * that keep secrets out of logs and comments hold for every job.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { ROOT } from "../helpers/program";
import { actionlintBinary, describeWith, requirements } from "../helpers/requirements";

const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const FILES = fs
  .readdirSync(WORKFLOWS)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}
interface Job {
  readonly if?: string;
  readonly needs?: string | string[];
  readonly permissions?: Record<string, string>;
  readonly concurrency?: { group: string; "cancel-in-progress": boolean };
  readonly env?: Record<string, string>;
  readonly outputs?: Record<string, string>;
  readonly steps: Step[];
}
interface Workflow {
  readonly on: Record<string, unknown>;
  readonly permissions?: Record<string, string>;
  readonly concurrency?: { group: string; "cancel-in-progress": boolean };
  readonly jobs: Record<string, Job>;
}

/** Scratch directories the tests made, removed at the end. */
const scratch: string[] = [];
afterAll(() => scratch.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function scratchDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

function workflow(file: string): Workflow {
  return parse(fs.readFileSync(path.join(WORKFLOWS, file), "utf8")) as Workflow;
}

/** Every job of every workflow, as [file, job id, job]. */
function allJobs(): [string, string, Job][] {
  return FILES.flatMap((file) => Object.entries(workflow(file).jobs).map(([id, job]): [string, string, Job] => [file, id, job]));
}

/** A job that runs the Pulumi CLI: through pulumi/actions, or a script that calls it. */
function runsPulumi(job: Job): boolean {
  return job.steps.some(
    (s) => s.uses?.startsWith("pulumi/actions@") || /\bpulumi\s|preview-stack|npm run smoke|stack-tunnel/.test(s.run ?? ""),
  );
}

function pulumiActionSteps(job: Job): Step[] {
  return job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command !== undefined);
}

/** actionlint with shellcheck on the given files: its exit status and what it printed. */
function actionlint(files: string[]): { status: number | null; output: string } {
  const result = spawnSync(actionlintBinary()!, ["-no-color", "-shellcheck", "shellcheck", ...files], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A copy of `file` with `from` replaced by `to` (which must occur), in a scratch .github/workflows. */
function brokenCopy(file: string, from: string, to: string): string {
  const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
  expect(text).toContain(from);
  const dir = path.join(scratchDir("aigw-workflows-"), ".github", "workflows");
  fs.mkdirSync(dir, { recursive: true });
  const copy = path.join(dir, file);
  fs.writeFileSync(copy, text.replace(from, to));
  return copy;
}

test("the three workflows exist", () => {
  expect(FILES).toEqual(["main.yml", "pull-request.yml", "scheduled.yml"]);
});

describeWith("actionlint on .github/workflows", [requirements.actionlint(), requirements.shellcheck()], () => {
  test("is the version scripts/actionlint.sh builds", () => {
    const version = spawnSync(actionlintBinary()!, ["-version"], { encoding: "utf8" }).stdout.split("\n")[0];
    expect(version).toBe(/^ACTIONLINT_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(ROOT, "scripts", "actionlint.sh"), "utf8"))![1]);
  });

  test.each(FILES)("%s passes actionlint and shellcheck", (file) => {
    const result = actionlint([path.join(WORKFLOWS, file)]);
    expect(result.output).toBe("");
    expect(result.status).toBe(0);
  });

  test("an undefined job output fails, named", () => {
    const copy = brokenCopy("pull-request.yml", "needs.gate.outputs.docker-host == 'true'", "needs.gate.outputs.docker-hots == 'true'");
    const result = actionlint([copy]);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/property "docker-hots" is not defined/);
  });

  test("an undefined step fails, named", () => {
    const copy = brokenCopy("main.yml", "${{ steps.check.outputs.state }}", "${{ steps.chekc.outputs.state }}");
    const result = actionlint([copy]);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/property "chekc" is not defined/);
  });

  test("a bad expression fails, named", () => {
    const copy = brokenCopy("scheduled.yml", "${{ vars.AI_GATEWAY_STACK || 'medium' }}", "${{ vars.AI_GATEWAY_STACK || }}");
    const result = actionlint([copy]);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/\[expression\]/);
  });

  test("a shellcheck error in a run: script fails, with its code", () => {
    const copy = brokenCopy(
      "pull-request.yml",
      'scripts/ci-docker-ssh.sh stack-tunnel "$PREVIEW_STACK"',
      "scripts/ci-docker-ssh.sh stack-tunnel $PREVIEW_STACK",
    );
    const result = actionlint([copy]);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/shellcheck reported issue in this script: SC2086/);
  });

  test("a misspelt input of a known action fails, named", () => {
    const copy = brokenCopy("main.yml", "node-version: 22", "node-versoin: 22");
    const result = actionlint([copy]);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/input "node-versoin" is not defined/);
  });
});

describe("the gate job's shell step, run for real", () => {
  const gate = workflow("pull-request.yml").jobs.gate;
  const step = gate.steps.find((s) => s.id === "check")!;

  function outputs(env: Record<string, string>): Record<string, string> {
    const file = path.join(scratchDir("aigw-gate-"), "output");
    fs.writeFileSync(file, "");
    const result = spawnSync("bash", ["-e", "-c", step.run!], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, GITHUB_OUTPUT: file, ...env },
    });
    expect(result.status).toBe(0);
    return Object.fromEntries(
      fs
        .readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .map((line) => line.split("=", 2)),
    );
  }

  test("its outputs are the job's and are computed from the secrets, never their values", () => {
    expect(gate.outputs).toEqual({ state: "${{ steps.check.outputs.state }}", "docker-host": "${{ steps.check.outputs.docker-host }}" });
    expect(step.env?.DOCKER_HOST_SET).toBe("${{ secrets.AI_GATEWAY_DOCKER_HOST != '' }}");
    expect(step.env?.BACKEND_SET).toBe("${{ vars.PULUMI_BACKEND_URL != '' }}");
    expect(step.env?.CREDENTIALS_SET).toContain("secrets.PULUMI_CONFIG_PASSPHRASE != ''");
  });

  test("everything configured: preview and preview stack", () => {
    expect(outputs({ BACKEND_SET: "true", CREDENTIALS_SET: "true", DOCKER_HOST_SET: "true" })).toEqual({
      state: "true",
      "docker-host": "true",
    });
  });

  test("no Docker host secret: the preview runs, the preview stack is skipped", () => {
    expect(outputs({ BACKEND_SET: "true", CREDENTIALS_SET: "true", DOCKER_HOST_SET: "false" })).toEqual({
      state: "true",
      "docker-host": "false",
    });
  });

  test("a fork's PR (no secrets; variables alone do not count): both skipped", () => {
    expect(outputs({ BACKEND_SET: "true", CREDENTIALS_SET: "false", DOCKER_HOST_SET: "false" })).toEqual({
      state: "false",
      "docker-host": "false",
    });
    expect(outputs({ BACKEND_SET: "false", CREDENTIALS_SET: "false", DOCKER_HOST_SET: "true" })).toEqual({
      state: "false",
      "docker-host": "false",
    });
  });

  test("the preview stack jobs run only on the gate's docker-host output, preview only on its state", () => {
    const jobs = workflow("pull-request.yml").jobs;
    for (const id of ["preview-stack", "preview-stack-down"]) {
      expect(jobs[id].needs).toBe("gate");
      expect(jobs[id].if).toContain("needs.gate.outputs.docker-host == 'true'");
    }
    expect(jobs["preview-stack"].if).toContain("github.event.action != 'closed'");
    expect(jobs["preview-stack-down"].if).toContain("github.event.action == 'closed'");
    expect(jobs.preview.if).toContain("needs.gate.outputs.state == 'true'");
  });
});

describe("the workflows' rules", () => {
  test("every job that runs pulumi has the backend, the passphrase and the other state credentials from vars and secrets, and reads a stack's secrets provider from its state", () => {
    const pulumiJobs = allJobs().filter(([, , job]) => runsPulumi(job));
    expect(pulumiJobs.map(([file, id]) => `${file}:${id}`)).toEqual(
      expect.arrayContaining([
        "pull-request.yml:preview",
        "pull-request.yml:preview-stack",
        "pull-request.yml:preview-stack-down",
        "main.yml:deploy",
        "scheduled.yml:drift",
        "scheduled.yml:sweep",
      ]),
    );
    for (const [file, id, job] of pulumiJobs) {
      const where = `${file}:${id}`;
      expect({ where, value: job.env?.PULUMI_BACKEND_URL }).toEqual({ where, value: "${{ vars.PULUMI_BACKEND_URL }}" });
      expect({ where, value: job.env?.PULUMI_CONFIG_PASSPHRASE }).toEqual({ where, value: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" });
      expect({ where, value: job.env?.PULUMI_ACCESS_TOKEN }).toEqual({ where, value: "${{ secrets.PULUMI_ACCESS_TOKEN }}" });
      expect({ where, value: job.env?.AWS_SECRET_ACCESS_KEY }).toEqual({ where, value: "${{ secrets.AWS_SECRET_ACCESS_KEY }}" });
      expect({ where, value: job.env?.PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER }).toEqual({ where, value: "true" });
    }
  });

  test("no run: script interpolates an expression (secrets and event text reach scripts only through env)", () => {
    for (const [file, id, job] of allJobs()) {
      for (const step of job.steps.filter((s) => s.run !== undefined)) {
        expect({ where: `${file}:${id}:${step.name ?? step.run}`, run: step.run }).not.toEqual(
          expect.objectContaining({ run: expect.stringContaining("${{") }),
        );
      }
    }
  });

  test("the PR preview runs the policy pack, comments on the PR and suppresses outputs", () => {
    const [preview] = pulumiActionSteps(workflow("pull-request.yml").jobs.preview);
    expect(preview.with).toMatchObject({
      command: "preview",
      policyPacks: "policy",
      "comment-on-pr": true,
      "suppress-outputs": true,
      "pulumi-version": "3.274.1",
      "stack-name": "${{ vars.AI_GATEWAY_STACK || 'medium' }}",
      "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}",
      "secrets-provider": "${{ vars.PULUMI_SECRETS_PROVIDER }}",
    });
  });

  test("main deploys with the policy pack, then smoke-tests, then proves convergence", () => {
    const deploy = workflow("main.yml").jobs.deploy;
    const [up, converge] = pulumiActionSteps(deploy);
    expect(up.with).toMatchObject({ command: "up", policyPacks: "policy", "suppress-outputs": true });
    expect(converge.with).toMatchObject({ command: "preview", "expect-no-changes": true, "suppress-outputs": true });
    const order = (predicate: (s: Step) => boolean) => deploy.steps.findIndex(predicate);
    expect(order((s) => s === up)).toBeLessThan(order((s) => /npm run smoke -- --stack/.test(s.run ?? "")));
    expect(order((s) => /npm run smoke/.test(s.run ?? ""))).toBeLessThan(order((s) => s === converge));
    expect(workflow("main.yml").concurrency).toEqual({
      group: "deploy-${{ vars.AI_GATEWAY_STACK || 'medium' }}",
      "cancel-in-progress": false,
    });
  });

  test("every pulumi/actions step installs CLI 3.274.1 and every preview or up suppresses outputs", () => {
    for (const [file, id, job] of allJobs()) {
      for (const step of job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"))) {
        expect({ where: `${file}:${id}`, uses: step.uses, version: step.with?.["pulumi-version"] }).toEqual({
          where: `${file}:${id}`,
          uses: "pulumi/actions@v7",
          version: "3.274.1",
        });
        if (step.with?.command !== undefined) {
          expect({ where: `${file}:${id}`, suppress: step.with["suppress-outputs"] }).toEqual({ where: `${file}:${id}`, suppress: true });
        }
      }
    }
  });

  test("every step that runs the policy pack passes its config file, checked by policy:check-config earlier in the job", () => {
    let packSteps = 0;
    for (const [file, id, job] of allJobs()) {
      const check = job.steps.findIndex((s) => (s.run ?? "").includes("npm run policy:check-config -- policy/config.json"));
      job.steps.forEach((step, index) => {
        if (step.with?.policyPacks === undefined) {
          return;
        }
        packSteps++;
        const where = `${file}:${id}:${step.name}`;
        expect({ where, config: step.with.policyPackConfigs, checkedBefore: check >= 0 && check < index }).toEqual({
          where,
          config: "policy/config.json",
          checkedBefore: true,
        });
      });
    }
    expect(packSteps).toBe(3);
    // The preview stack's up (through the Automation API) runs the pack as well, after the check.
    const previewStack = workflow("pull-request.yml").jobs["preview-stack"].steps;
    const up = previewStack.findIndex((s) => /npm run preview-stack -- "\$\{args\[@\]\}"/.test(s.run ?? ""));
    expect(previewStack[up].run).toContain("--policy-pack policy --policy-pack-config policy/config.json");
    expect(previewStack.findIndex((s) => (s.run ?? "").includes("policy:check-config"))).toBeLessThan(up);
    expect(fs.existsSync(path.join(ROOT, "policy", "config.json"))).toBe(true);
  });

  test("the drift check is a preview-only refresh that expects no changes; the sweep runs", () => {
    const { drift, sweep } = workflow("scheduled.yml").jobs;
    expect(drift.steps.map((s) => s.run ?? "").join("\n")).toMatch(/pulumi refresh --preview-only --expect-no-changes --suppress-outputs/);
    expect(sweep.steps.map((s) => s.run ?? "").join("\n")).toContain("npm run preview-stack -- sweep");
    expect(Object.keys(workflow("scheduled.yml").on).sort()).toEqual(["schedule", "workflow_dispatch"]);
  });

  test("least privilege: nothing at the top, each job its own, pull-requests: write only where a comment is posted", () => {
    for (const file of FILES) {
      expect({ file, permissions: workflow(file).permissions }).toEqual({ file, permissions: {} });
    }
    for (const [file, id, job] of allJobs()) {
      expect({ where: `${file}:${id}`, declared: job.permissions !== undefined }).toEqual({ where: `${file}:${id}`, declared: true });
      const comments = job.steps.some((s) => s.with?.["comment-on-pr"] === true);
      expect({ where: `${file}:${id}`, write: job.permissions?.["pull-requests"] === "write" }).toEqual({
        where: `${file}:${id}`,
        write: comments,
      });
      expect(Object.values(job.permissions ?? {}).filter((p) => p === "write").length).toBeLessThanOrEqual(comments ? 1 : 0);
    }
  });

  test("a PR's preview stack is deployed and torn down in one concurrency group, never cancelled halfway", () => {
    const jobs = workflow("pull-request.yml").jobs;
    expect(jobs["preview-stack"].concurrency).toEqual({
      group: "preview-stack-pr-${{ github.event.pull_request.number }}",
      "cancel-in-progress": false,
    });
    expect(jobs["preview-stack-down"].concurrency).toEqual(jobs["preview-stack"].concurrency);
    expect(workflow("pull-request.yml").on).toEqual({ pull_request: { types: ["opened", "synchronize", "reopened", "closed"] } });
  });

  test("actions are pinned to a major tag or a commit; checkouts keep no credentials", () => {
    for (const [file, id, job] of allJobs()) {
      for (const step of job.steps.filter((s) => s.uses !== undefined)) {
        expect({ where: `${file}:${id}`, uses: step.uses }).toEqual({
          where: `${file}:${id}`,
          uses: expect.stringMatching(/^[\w-]+\/[\w-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/),
        });
        if (step.uses!.startsWith("actions/checkout@")) {
          expect(step.with?.["persist-credentials"]).toBe(false);
        }
      }
    }
  });

  test("no workflow runs a PR's code with secrets through pull_request_target or workflow_run", () => {
    for (const file of FILES) {
      expect({ file, on: Object.keys(workflow(file).on) }).toEqual({
        file,
        on: expect.not.arrayContaining(["pull_request_target", "workflow_run"]),
      });
    }
  });

  test("ssh never trusts an unknown host key", () => {
    const texts = [
      ...FILES.map((f) => fs.readFileSync(path.join(WORKFLOWS, f), "utf8")),
      fs.readFileSync(path.join(ROOT, "scripts", "ci-docker-ssh.sh"), "utf8"),
    ];
    // Comments may say what is never done; only what runs counts.
    const code = texts.flatMap((text) => text.split("\n")).filter((line) => !line.trim().startsWith("#"));
    expect(code.filter((line) => /StrictHostKeyChecking/.test(line)).length).toBeGreaterThan(0);
    expect(code.filter((line) => /StrictHostKeyChecking[= ]+(no|accept-new|off)/i.test(line))).toEqual([]);
  });
});
