/**
 * Safe upgrades with the real CLI and engine (issue 12 item 1): a PostgreSQL major-version or
 * collation-OS change on a deployed stack is refused by `pulumi preview` and `pulumi up` with one
 * line, and nothing changes; a new LiteLLM image's migrations run in a one-shot container before
 * LiteLLM is replaced; a migration that fails fails `pulumi up` with the container's own text and
 * leaves the old LiteLLM serving.
 *
 * The LiteLLM images are the stand-in (tests/fixtures/docker/litellm_standin.py) under three tags
 * (scripts/build-images.sh): v1.110.1, v1.110.2 (one more migration) and v1.110.2-broken-migration
 * (that migration fails half-way, as a Prisma migration can).
 */
import { changes, CliResult, docker, inspect, psql, Stack, Workspace } from "./harness";
import {
  allHealthy,
  fingerprint,
  names,
  publicChecks,
  readMarkers,
  removeLeftovers,
  initSmallEphemeral,
  useProgram,
  virtualKeys,
  writeMarkers,
} from "./gateway";
import { describeE2E } from "./requirements";
import { REGISTRY, registryImages, REGISTRY_IMAGES } from "../helpers/registryImages";
import { envRecord } from "../helpers/envList";

const STACK = "i12-upgrade-guard";
const HTTP_PORT = 18396;
const ADMIN_PORT = 14397;
const BASE_URL = `http://127.0.0.1:${HTTP_PORT}`;
const LITELLM_NEXT = `${REGISTRY}/berriai/litellm:v1.110.2`;
const LITELLM_BROKEN = `${REGISTRY}/berriai/litellm:v1.110.2-broken-migration`;
const GUARD = "pulumi-nodejs:dynamic/ai-gateway:PostgresDataGuard";
/** main before the guard and the migration step: the stack is first deployed by it. */
const BEFORE_UPGRADE_STEPS_COMMIT = "7f67a05";

/** `docker events` (create, start, die, destroy) of one container name since a time, oldest first. */
async function events(container: string, since: number): Promise<{ nanos: bigint; action: string; exitCode: string; id: string }[]> {
  const until = Math.ceil(Date.now() / 1000) + 1;
  const filters = ["type=container", `container=${container}`, ...["create", "start", "die", "destroy"].map((e) => `event=${e}`)];
  const result = await docker([
    "events",
    "--since",
    String(since),
    "--until",
    String(until),
    ...filters.flatMap((f) => ["--filter", f]),
    "--format",
    "{{json .}}",
  ]);
  return result.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const event = JSON.parse(line) as { timeNano: number; Action: string; Actor: { ID: string; Attributes: Record<string, string> } };
      return {
        nanos: BigInt(JSON.parse(line.replace(/"timeNano":(\d+)/, '"timeNano":"$1"')).timeNano),
        action: event.Action,
        id: event.Actor.ID,
        exitCode: event.Actor.Attributes.exitCode ?? "",
      };
    });
}

/** The human output of a CLI run (stdout and stderr), and the lines naming the refusal. */
function refusalLines(result: CliResult, text: string): string[] {
  return `${result.stdout}\n${result.stderr}`.split("\n").filter((line) => line.includes(text));
}

describeE2E("safe upgrades: the PostgreSQL data guard and LiteLLM's migration step", () => {
  const workspace = new Workspace(STACK);
  const stack: Stack = workspace.stack(STACK);
  const n = names(STACK);
  const cli = (args: string[]) => workspace.pulumi(["--stack", STACK, ...args], { allowFailure: true });
  let keys: Record<string, string>;

  beforeAll(async () => {
    // Builds (or finds) the stand-in's three LiteLLM tags along with the other images.
    await registryImages();
    await removeLeftovers(STACK, { volumes: true });
    useProgram(workspace, BEFORE_UPGRADE_STEPS_COMMIT);
    await initSmallEphemeral(stack, { httpPort: HTTP_PORT, adminPort: ADMIN_PORT });
    await stack.up();
    await allHealthy(STACK);
    await writeMarkers(STACK, "before-upgrades");
    keys = virtualKeys(await stack.outputs());
  });

  afterAll(async () => {
    await stack.destroy({ allowFailure: true });
    await removeLeftovers(STACK, { volumes: true });
    workspace.remove();
  });

  test("a stack deployed before the upgrade steps: one up adds the guard, the migration step, the snapshot steps and the backups, replaces only what this release changed, and converges", async () => {
    const before = await fingerprint(STACK);
    useProgram(workspace);
    const planned = changes(await stack.previewSteps());
    const { steps } = await stack.up();
    expect(changes(steps)).toEqual(planned);
    expect(planned).toEqual([
      "create Backups ai-gateway-backups",
      "create Container ai-gateway-backups-litellm-database",
      "create Container ai-gateway-backups-litellm-database-config",
      "create Container ai-gateway-backups-open-webui-volume",
      "create Container ai-gateway-backups-open-webui-volume-config",
      "create ContainerPidsLimit ai-gateway-backups-litellm-database-pids",
      "create ContainerPidsLimit ai-gateway-backups-open-webui-volume-pids",
      "create LitellmMigration ai-gateway-litellm-migration",
      "create PostgresDataGuard ai-gateway-postgres-data-guard",
      "create PreUpgradeSnapshot ai-gateway-litellm-pre-upgrade",
      "create PreUpgradeSnapshot ai-gateway-open-webui-pre-upgrade",
      "create RemoteImage ai-gateway-backups-litellm-database-image",
      "create RemoteImage ai-gateway-backups-open-webui-volume-image",
      "create Volume ai-gateway-backups-litellm-database-config",
      "create Volume ai-gateway-backups-open-webui-volume-config",
      "create Volume ai-gateway-backups-volume",
      // This release changes LiteLLM's config.yaml (spend-log retention) and Open WebUI's
      // environment (AIOHTTP_POOL_DNS_TTL): each is replaced once, on its kept volume.
      "replace Container ai-gateway-litellm",
      "replace Container ai-gateway-open-webui",
      "update ContainerPidsLimit ai-gateway-litellm-pids",
      "update ContainerPidsLimit ai-gateway-open-webui-pids",
    ]);
    // The same image, so creating the step ran no migration container, and it is not left behind.
    expect((await docker(["ps", "-a", "-q", "--filter", `name=^/${n.container("litellm")}-migrate$`])).stdout.trim()).toBe("");
    const after = await fingerprint(STACK);
    const untouched = (f: Record<string, string>) => ({ ...f, litellm: undefined, "open-webui": undefined });
    expect(untouched(after)).toEqual(untouched(before));
    expect((await readMarkers(STACK)).postgres).toEqual(["before-upgrades"]);
    await stack.expectNoChanges();
  });

  test("a PostgreSQL major-version change: preview and up fail with one line naming it, and nothing changes", async () => {
    const before = await fingerprint(STACK);
    const wanted = `${REGISTRY}/library/postgres:17.7-trixie`;
    await stack.set("postgresImage", wanted);
    const message = `postgresImage = ${wanted}: PostgreSQL 16 data cannot be opened by 17; dump and restore: take a pg_dump -Fc snapshot`;
    for (const command of [["preview"], ["up", "--yes", "--skip-preview"]]) {
      const result = await cli(command);
      expect(result.code).not.toBe(0);
      // The diagnostics hold the whole line (the progress view may cut it at its width).
      const whole = refusalLines(result, message).filter((line) => line.includes('(README "Upgrade an image")'));
      expect(whole.length).toBeGreaterThanOrEqual(1);
      const type = GUARD.replace(/[/:]/g, ".");
      for (const line of whole) {
        expect(line.trim()).toMatch(
          new RegExp(
            `^(${type} \\S+ +)?error: ${type} resource '\\S+-postgres-data-guard' has a problem: ${message.replace(/[.()]/g, "\\$&")}`,
          ),
        );
      }
      // No stack trace, no other error.
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/\n\s+at /);
    }
    expect(await fingerprint(STACK)).toEqual(before);
    // The data volume's image is still the one it was.
    expect((await inspect(n.container("postgres"))).Config.Image).toMatch(/^sha256:/);
    await stack.set("postgresImage", REGISTRY_IMAGES.postgres);
    await stack.expectNoChanges();
    expect((await readMarkers(STACK)).postgres).toEqual(["before-upgrades"]);
  });

  test("an OS change that changes collation (glibc -> musl) is refused by preview too", async () => {
    const wanted = `${REGISTRY}/library/postgres:16.15-alpine3.24`;
    await stack.set("postgresImage", wanted);
    const result = await cli(["preview"]);
    expect(result.code).not.toBe(0);
    expect(
      refusalLines(result, `postgresImage = ${wanted}: the data was written under Debian trixie (glibc)`).length,
    ).toBeGreaterThanOrEqual(1);
    await stack.set("postgresImage", REGISTRY_IMAGES.postgres);
    await stack.expectNoChanges();
  });

  test("a new LiteLLM image: its migration runs in a one-shot container that exits 0 before LiteLLM is replaced; the next preview is a no-op", async () => {
    const oldLitellm = (await inspect(n.container("litellm"))).Id as string;
    const since = Math.floor(Date.now() / 1000) - 1;
    await stack.set("litellmImage", LITELLM_NEXT);
    const { steps } = await stack.up();
    const changed = steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.type.split(":").pop()} ${s.name}`);
    expect(changed).toEqual(expect.arrayContaining([expect.stringMatching(/^update LitellmMigration \S+-litellm-migration$/)]));
    expect(changed.some((c) => /(replace|create-replacement) Container \S+-litellm$/.test(c))).toBe(true);

    const migration = await events(`${n.container("litellm")}-migrate`, since);
    expect(migration.map((e) => `${e.action}${e.action === "die" ? ` ${e.exitCode}` : ""}`)).toEqual([
      "create",
      "start",
      "die 0",
      "destroy",
    ]);
    const oldDestroyed = (await events(n.container("litellm"), since)).find((e) => e.action === "destroy" && e.id === oldLitellm);
    expect(oldDestroyed).toBeDefined();
    // The migration ended (and its container was removed) before the old LiteLLM was.
    expect(migration[3].nanos).toBeLessThan(oldDestroyed!.nanos);
    expect((await docker(["ps", "-a", "-q", "--filter", `name=^/${n.container("litellm")}-migrate$`])).stdout.trim()).toBe("");

    // The newer image's migration is in Prisma's ledger, finished.
    expect(
      await psql(
        n.container("postgres"),
        `SELECT finished_at IS NOT NULL FROM "_prisma_migrations" WHERE migration_name = '20261110000000_standin_upgrade'`,
      ),
    ).toBe("t");
    await allHealthy(STACK);
    expect((await publicChecks(BASE_URL, keys)).withKey).toEqual(Object.fromEntries(Object.keys(keys).map((k) => [k, 200])));
    await stack.expectNoChanges();
  });

  test("a migration that fails: up fails with the container's own text, the old LiteLLM still serves, nothing is left behind", async () => {
    const litellm = await inspect(n.container("litellm"));
    const password = new URL(envRecord(litellm.Config.Env as string[]).DATABASE_URL).password;
    await stack.set("litellmImage", LITELLM_BROKEN);
    const result = await cli(["up", "--yes", "--skip-preview"]);
    expect(result.code).not.toBe(0);
    const output = `${result.stdout}\n${result.stderr}`;
    expect(output).toContain(`LiteLLM's database migration with ${LITELLM_BROKEN} failed (exit 2); the LiteLLM container was not replaced`);
    expect(output).toContain("LiteLLM Proxy: Database migration cannot proceed. Database migration failed and cannot be auto-recovered.");
    expect(output).toContain("Error: P3018");
    expect(output).toContain("Migration name: 20261120000000_standin_broken_migration");
    expect(output).toContain('column "no_such_column" does not exist');
    expect(password.length).toBeGreaterThan(8);
    expect(output).not.toContain(password);

    // The old container: same id, still running the previous image, healthy, serving keys through nginx.
    const after = await inspect(n.container("litellm"));
    expect(after.Id).toBe(litellm.Id);
    expect(after.Image).toBe(litellm.Image);
    expect(after.State.Running).toBe(true);
    expect((await publicChecks(BASE_URL, keys)).withKey).toEqual(Object.fromEntries(Object.keys(keys).map((k) => [k, 200])));
    expect((await docker(["ps", "-a", "-q", "--filter", `name=^/${n.container("litellm")}-migrate$`])).stdout.trim()).toBe("");
    // The half-applied migration is in the database (what the pre-upgrade snapshot's restore undoes).
    expect(
      await psql(
        n.container("postgres"),
        `SELECT count(*) FROM "_prisma_migrations" WHERE migration_name = '20261120000000_standin_broken_migration' AND finished_at IS NULL`,
      ),
    ).toBe("1");
    expect((await readMarkers(STACK)).postgres).toEqual(["before-upgrades"]);
  });
});
