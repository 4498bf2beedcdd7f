/**
 * Credential rotation for real (README "Rotate credentials"): a small stack deployed by the release
 * before the rotation settings, upgraded to this one (the versions at 1 change no secret; the
 * retention setting replaces LiteLLM alone, for its config.yaml), then all three versions raised in
 * one `pulumi up`. Afterwards PostgreSQL takes the new password and refuses the old one, and never
 * refused LiteLLM on the way; a virtual key made before still answers through nginx; LiteLLM's admin
 * API refuses the old master key and takes the new one; the data volumes are the same volumes with
 * the same data; and the stack has converged.
 */
import { LITELLM_CONFIG_PATH } from "../../lib/constants";
import { changes, docker, dockerExec, inspect, request, Stack, Workspace } from "./harness";
import {
  allHealthy,
  names,
  publicChecks,
  readMarkers,
  removeLeftovers,
  initSmallEphemeral,
  useProgram,
  virtualKeys,
  withPidsLimits,
  writeMarkers,
} from "./gateway";
import { describeE2E } from "./requirements";

/** main before the rotation and retention settings: what an existing stack was deployed with. */
const RELEASE_BEFORE_ROTATION = "7f67a05";
const STACK = "rotation";
/** The data volumes of the release before, by suffix; this release adds the backups volume. */
const DATA_VOLUMES_BEFORE = ["open-webui-data", "postgres-data"];
const HTTP_PORT = 18580;
const ADMIN_PORT = 14581;
const BASE_URL = `http://127.0.0.1:${HTTP_PORT}`;
const ADMIN_URL = `http://127.0.0.1:${ADMIN_PORT}`;

/** The password in LiteLLM's DATABASE_URL, as its container has it now. */
async function databasePassword(container: string): Promise<string> {
  const env: string[] = (await inspect(container)).Config.Env;
  const url = env.find((e) => e.startsWith("DATABASE_URL="))!.slice("DATABASE_URL=".length);
  return decodeURIComponent(new URL(url).password);
}

/**
 * Logs in to PostgreSQL as LiteLLM does: from LiteLLM's container, over the backend network, with a
 * password (the image trusts its own loopback, so a login inside PostgreSQL's container would prove
 * nothing). The password goes through stdin, never onto a command line.
 */
async function loginAsLitellm(litellm: string, password: string, sql: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = 'IFS= read -r PGPASSWORD; export PGPASSWORD; exec psql -w -X -h postgres -p 5432 -U litellm -d litellm -Atc "$1"';
  return docker(["exec", "-i", litellm, "sh", "-c", script, "login", sql], { input: `${password}\n`, allowFailure: true });
}

async function volumeCreatedAt(volume: string): Promise<string> {
  return (await docker(["volume", "inspect", volume, "--format", "{{.CreatedAt}}"])).stdout.trim();
}

describeE2E("credential rotation as config, on a stack of the release before it", () => {
  const workspace = new Workspace(STACK);
  const stack: Stack = workspace.stack(STACK);
  const n = names(STACK);
  let before: Record<string, any>;
  let handmadeKey: string;
  let volumesBefore: string[];

  const admin = (pathAndQuery: string, masterKey: string, init: { method?: string; body?: string } = {}) =>
    request(`${ADMIN_URL}${pathAndQuery}`, { ...init, headers: { Authorization: `Bearer ${masterKey}` } });

  beforeAll(async () => {
    await removeLeftovers(STACK, { volumes: true });
    useProgram(workspace, RELEASE_BEFORE_ROTATION);
    await initSmallEphemeral(stack, { httpPort: HTTP_PORT, adminPort: ADMIN_PORT });
    await stack.up();
    await allHealthy(STACK);
    await writeMarkers(STACK, "before-rotation");
    before = await stack.outputs();
    // The data volumes the release before made (this one adds the backups volume).
    volumesBefore = await Promise.all(DATA_VOLUMES_BEFORE.map((v) => volumeCreatedAt(`${n.prefix}-${v}`)));
  });

  afterAll(async () => {
    await stack.destroy({ allowFailure: true });
    await removeLeftovers(STACK, { volumes: true });
    workspace.remove();
  });

  test("upgraded to this release, with every version at 1: no secret and no data volume changes; the retention replaces LiteLLM", async () => {
    useProgram(workspace);
    const planned = changes(await stack.previewSteps());
    // The release also adds the backups and the upgrade steps, and replaces Open WebUI (its DNS
    // cache's TTL): tests/e2e/upgradeGuard.test.ts lists it all. Here: LiteLLM is replaced for the
    // retention, and no secret and no data volume changes.
    expect(planned).toContain("replace Container ai-gateway-litellm");
    expect(planned.filter((c) => / RandomPassword /.test(c))).toEqual([]);
    expect(planned.filter((c) => / Volume /.test(c) && !c.startsWith("create ") && !c.endsWith("-config"))).toEqual([]);
    await stack.up();
    await stack.expectNoChanges();
    const config = await dockerExec(n.container("litellm"), ["cat", LITELLM_CONFIG_PATH]);
    expect(config).toMatch(/maximum_spend_logs_retention_period: 30d\n/);
    expect(config).toMatch(/maximum_spend_logs_cleanup_cron: "?17 3 \* \* \*"?\n/);
    expect((await stack.outputs()).litellmMasterKey).toBe(before.litellmMasterKey);
  });

  test("one up with all three versions raised rotates the three secrets, and only what uses them is replaced", async () => {
    const created = await admin("/key/generate", before.litellmMasterKey, {
      method: "POST",
      body: JSON.stringify({ key_alias: "made-before-rotation" }),
    });
    expect(created.status).toBe(200);
    handmadeKey = JSON.parse(created.body).key;
    const oldPassword = await databasePassword(n.container("litellm"));

    await stack.set("postgresPasswordVersion", "2");
    await stack.set("masterKeyVersion", "2");
    await stack.set("webuiSecretKeyVersion", "2");
    const planned = changes(await stack.previewSteps());
    const { steps } = await stack.up();
    expect(changes(steps)).toEqual(planned);
    expect(planned).toEqual(
      withPidsLimits([
        "replace Container ai-gateway-litellm",
        "replace Container ai-gateway-open-webui",
        "replace Container ai-gateway-postgres",
        "replace RandomPassword ai-gateway-secrets-master-key",
        "replace RandomPassword ai-gateway-secrets-postgres-password",
        "replace RandomPassword ai-gateway-secrets-webui-secret-key",
        "update LitellmKeyRegistration ai-gateway-keys-registration",
        // With the same image the migration step runs nothing; it keeps the URL it would use.
        "update LitellmMigration ai-gateway-litellm-migration",
        // The database's backup container reads the password from its .pgpass (a config volume).
        "replace Container ai-gateway-backups-litellm-database",
        "replace Container ai-gateway-backups-litellm-database-config",
        "replace Volume ai-gateway-backups-litellm-database-config",
      ]),
    );
    // PostgreSQL's new container was up (its start script had applied the new password: it is healthy only then) before LiteLLM's was created.
    const order = steps.filter((s) => s.op === "create-replacement" && s.type === "Container").map((s) => s.name);
    expect(order.indexOf("ai-gateway-postgres")).toBeGreaterThanOrEqual(0);
    expect(order.indexOf("ai-gateway-postgres")).toBeLessThan(order.indexOf("ai-gateway-litellm"));
    await allHealthy(STACK);

    const after = await stack.outputs();
    const newPassword = await databasePassword(n.container("litellm"));
    expect(newPassword).not.toBe(oldPassword);
    expect(after.litellmMasterKey).not.toBe(before.litellmMasterKey);
    // Virtual keys are not secrets the versions rotate.
    expect(virtualKeys(after)).toEqual(virtualKeys(before));

    // PostgreSQL: the data, readable with the new password; the old one refused.
    const withNew = await loginAsLitellm(n.container("litellm"), newPassword, "SELECT name FROM e2e_marker ORDER BY name");
    expect([withNew.code, withNew.stdout.trim()]).toEqual([0, "before-rotation"]);
    const withOld = await loginAsLitellm(n.container("litellm"), oldPassword, "SELECT 1");
    expect(withOld.code).not.toBe(0);
    expect(withOld.stderr).toContain('password authentication failed for user "litellm"');
    // ...and it never refused LiteLLM on the way: the new server's log has no failed login but the one just made on purpose.
    const postgresLog = await docker(["logs", n.container("postgres")]);
    expect(`${postgresLog.stdout}${postgresLog.stderr}`.match(/password authentication failed/g)).toHaveLength(1);
    expect(postgresLog.stdout).toContain("has the stack's password");

    // A key made before the rotation, and the stack's own, still answer through nginx.
    const checks = await publicChecks(BASE_URL, { ...virtualKeys(after), handmade: handmadeKey });
    expect(checks.openWebui.status).toBe(200);
    expect(checks.withKey).toEqual({ "open-webui": 200, agents: 200, handmade: 200 });

    // LiteLLM's admin API: the old master key refused, the new one taken.
    const info = `/key/info?key=${encodeURIComponent(handmadeKey)}`;
    expect((await admin(info, before.litellmMasterKey)).status).toBe(401);
    expect((await admin(info, after.litellmMasterKey)).status).toBe(200);

    // The data volumes are the same volumes, with the same data.
    expect(await Promise.all(DATA_VOLUMES_BEFORE.map((v) => volumeCreatedAt(`${n.prefix}-${v}`)))).toEqual(volumesBefore);
    expect(await readMarkers(STACK)).toEqual({ postgres: ["before-rotation"], openWebui: ["before-rotation"] });

    await stack.expectNoChanges();
  });
});
