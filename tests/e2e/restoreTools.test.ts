/**
 * The pre-upgrade snapshot step, `npm run restore` and `npm run rollback` with the real Pulumi CLI
 * and engine: a program of just the step (the project's own component, serialized by the real
 * Node SDK into the real CLI's state), a test double of LiteLLM's backup container
 * (tests/helpers/backupDouble.ts) and a stand-in service container. It proves the step's state,
 * its convergence, its failure, and the tools' reading of a real stack's state, their engine steps
 * and exit codes; tests/e2e/rollback.test.ts proves them on a whole gateway with the real backup
 * containers.
 */
import * as fs from "fs";
import * as path from "path";
import { BACKUP_SCRIPTS } from "../../lib/backups";
import { inspectContainer } from "../../lib/dockerExec";
import { BACKUP_SCRIPT_DOUBLE } from "../helpers/backupDouble";
import { DOCKER_ENDPOINT, DockerSandbox, TestContainer } from "../helpers/dockerEngine";
import { testImage } from "../helpers/testImage";
import { changes, Stack, Workspace } from "./harness";
import { describeE2E } from "./requirements";

const STACK = "restore-tools";
const OLD_PIN = "registry.example/litellm:v1";
const NEW_PIN = "registry.example/litellm:v2";

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { PreUpgradeSnapshot } from "./components/preUpgradeSnapshot";

const config = new pulumi.Config();
const step = new PreUpgradeSnapshot("litellm-pre-upgrade", {
  dockerHost: "unix:///var/run/docker.sock",
  service: "litellm",
  backupContainer: config.require("backupContainer"),
  serviceContainer: config.require("serviceContainer"),
  image: config.require("litellmImage"),
});
export const snapshot = step.snapshot;
`;

describeE2E("the pre-upgrade snapshot step and the restore tools, with the real CLI", () => {
  const workspace = new Workspace(STACK);
  const stack: Stack = workspace.stack(STACK);
  const sandbox = new DockerSandbox("restore-tools");
  let backup: TestContainer;
  let service: TestContainer;

  const files = async () => (await backup.exec(["sh", "-c", "ls /backups/litellm 2>/dev/null || true"])).stdout.split("\n").filter(Boolean);

  beforeAll(async () => {
    fs.writeFileSync(path.join(workspace.dir, "index.ts"), PROGRAM);
    const image = await testImage();
    backup = await sandbox.helper("backup-litellm", {
      image,
      env: [`SERVICE_IMAGE=${OLD_PIN}`],
      uploads: [{ file: BACKUP_SCRIPTS.litellm.file, content: BACKUP_SCRIPT_DOUBLE, permissions: "0755" }],
    });
    service = await sandbox.helper("litellm", { image });
    await stack.init();
    await stack.set("backupContainer", backup.name);
    await stack.set("serviceContainer", service.name);
    await stack.set("litellmImage", OLD_PIN);
  }, 300_000);

  afterAll(async () => {
    await stack.destroy({ allowFailure: true });
    await stack.rm().catch(() => undefined);
    workspace.remove();
    await sandbox.cleanup();
  }, 300_000);

  test("the first up records the pin and snapshots nothing; a second up changes nothing", async () => {
    expect(changes((await stack.up()).steps)).toEqual([
      "create PreUpgradeSnapshot litellm-pre-upgrade",
      `create Stack ai-gateway-${STACK}`,
    ]);
    expect(await files()).toEqual([]);
    await stack.expectNoChanges();
    expect(changes((await stack.up()).steps)).toEqual([]);
  });

  test("a new pin: the up takes the pre-upgrade snapshot with the old pin, then converges", async () => {
    await stack.set("litellmImage", NEW_PIN);
    expect(changes(await stack.previewSteps())).toEqual(["update PreUpgradeSnapshot litellm-pre-upgrade"]);
    // The preview asked no engine: still nothing taken.
    expect(await files()).toEqual([]);
    expect(changes((await stack.up()).steps)).toEqual(["update PreUpgradeSnapshot litellm-pre-upgrade"]);
    const snapshot = (await stack.outputs()).snapshot;
    expect(snapshot).toMatchObject({ service: "litellm", label: "pre-upgrade-litellm", image: OLD_PIN });
    expect(await files()).toEqual([snapshot.file, `${snapshot.file}.json`]);
    await stack.expectNoChanges();
  });

  test("a snapshot that fails fails the up with the script's words, scrubbed, and the pin is not recorded", async () => {
    await backup.exec(["touch", "/tmp/FAIL_SNAPSHOT"]);
    try {
      await stack.set("litellmImage", "registry.example/litellm:v3");
      const { result } = await stack.up([], { allowFailure: true });
      expect(result.code).not.toBe(0);
      const said = result.stdout + result.stderr;
      expect(said).toContain("pre-upgrade snapshot of litellm");
      expect(said).toContain("pg_dump: error: connection to server failed: password sk-\u2026 rejected");
      expect(said).not.toContain("sk-abcdefghijklmnop");
    } finally {
      await backup.exec(["rm", "/tmp/FAIL_SNAPSHOT"]);
    }
    await stack.set("litellmImage", NEW_PIN);
    await stack.expectNoChanges();
  });

  test("npm run restore: a snapshot that is not there exits 2 naming the newest that are", async () => {
    const [taken] = await files();
    const result = await workspace.npm(
      "restore",
      ["--stack", STACK, "--service", "litellm", "--snapshot", "20990101T000000Z-scheduled.dump", "--yes"],
      { allowFailure: true },
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`restore: no snapshot 20990101T000000Z-scheduled.dump of litellm: the newest: ${taken}`);
  });

  test("npm run restore --snapshot latest: stops the service, restores, starts it, says what it restored", async () => {
    const result = await workspace.npm("restore", ["--stack", STACK, "--service", "litellm", "--snapshot", "latest", "--yes"]);
    const [taken] = await files();
    expect(result.stdout).toContain(`stopping ${service.name}\n`);
    expect(result.stdout).toContain(`${service.name} is healthy\n`);
    expect(result.stdout).toMatch(
      new RegExp(`restored litellm of stack ${STACK} from ${taken} \\(taken .+ with ${OLD_PIN.replace(/\./g, "\\.")}\\)`),
    );
    expect((await backup.exec(["cat", "/restored"])).stdout).toMatch(/^data at /);
    expect((await inspectContainer(DOCKER_ENDPOINT, service.name)).running).toBe(true);
  });

  test("npm run rollback: restores the pre-upgrade snapshot, sets the previous pin and runs pulumi up", async () => {
    await backup.exec(["rm", "/restored"]);
    const result = await workspace.npm("rollback", ["--stack", STACK, "--service", "litellm"]);
    expect(result.stdout).toContain(`2/4 ${service.name} runs another image: restoring, and leaving it stopped for pulumi up to replace`);
    expect(result.stdout).toContain(`3/4 pulumi config set litellmImage ${OLD_PIN}`);
    expect(result.stdout).toContain(`rolled back litellm of stack ${STACK} to ${OLD_PIN}`);
    expect((await backup.exec(["cat", "/restored"])).stdout).toMatch(/^data at /);
    expect((await workspace.pulumi(["--stack", STACK, "config", "get", "litellmImage"])).stdout.trim()).toBe(OLD_PIN);
    // The up changed the pin back, so the step snapshotted the restored data first.
    expect((await files()).filter((f) => f.endsWith("-pre-upgrade-litellm.dump"))).toHaveLength(2);
    await stack.expectNoChanges();
  });
});
