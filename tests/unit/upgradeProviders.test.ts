import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { postgresDataGuardProvider } from "../../components/postgresDataGuard";
import { litellmMigrationProvider, LitellmMigrationState, migrationFailure } from "../../components/litellmMigration";
import { oneShotCreateBody } from "../../lib/dockerExec";
import { ROOT } from "../helpers/program";

/**
 * Runs `call` (a JS expression over `provider`) on the provider as the Pulumi engine runs it: from
 * its serialized closure, in another process, where what the closure captured must have survived
 * serialization (a captured Set, for one, does not). Returns the result as JSON, or "error: <message>".
 */
async function runSerialized(provider: pulumi.dynamic.ResourceProvider, call: string): Promise<string> {
  const serialized = await pulumi.runtime.serializeFunction(() => provider);
  const dir = fs.mkdtempSync(path.join(ROOT, ".cache", "serialized-"));
  try {
    fs.writeFileSync(path.join(dir, "provider.js"), serialized.text);
    const runner = `
      const provider = require("./provider.js").${serialized.exportName}();
      Promise.resolve(${call}).then((r) => console.log(JSON.stringify(r)), (e) => console.log("error: " + e.message));`;
    const result = spawnSync(process.execPath, ["-e", runner], { cwd: dir, encoding: "utf8", timeout: 60000 });
    expect(result.stderr).toBe("");
    return result.stdout.trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("postgresDataGuardProvider.check", () => {
  const check = (olds: Record<string, unknown>, image: string) =>
    postgresDataGuardProvider.check!(olds, { setting: "postgresImage", image }) as Promise<{
      inputs: Record<string, unknown>;
      failures?: { property: string; reason: string }[];
    }>;

  test("on create it records the pin's major version and OS family", async () => {
    const result = await check({}, "postgres:16.15-bookworm");
    expect(result.failures).toBeUndefined();
    expect(result.inputs).toEqual({ setting: "postgresImage", image: "postgres:16.15-bookworm", major: 16, os: "bookworm", libc: "glibc" });
  });

  test("a minor bump of the deployed pin passes", async () => {
    expect((await check({ image: "postgres:16.15-trixie" }, "postgres:16.16-trixie")).failures).toBeUndefined();
  });

  test("a major change fails with one line and no property (the CLI prints \"resource '<name>' has a problem: <reason>\")", async () => {
    const { failures } = await check({ image: "postgres:16.15-trixie" }, "postgres:17.7-trixie");
    expect(failures).toHaveLength(1);
    expect(failures![0].property).toBe("");
    expect(failures![0].reason).toMatch(
      /^postgresImage = postgres:17\.7-trixie: PostgreSQL 16 data cannot be opened by 17; dump and restore: /,
    );
  });

  test("an OS change that changes collation fails", async () => {
    const { failures } = await check({ image: "postgres:16.15-trixie" }, "postgres:16.15-alpine3.24");
    expect(failures![0].reason).toMatch(/collation/);
  });

  test("serialized as the engine runs it, check records a pin and refuses a major or an OS change", async () => {
    const check = (olds: object, image: string) =>
      `provider.check(${JSON.stringify(olds)}, { setting: "postgresImage", image: "${image}" })`;
    const results = JSON.parse(
      await runSerialized(
        postgresDataGuardProvider,
        `Promise.all([${[
          check({}, "postgres:16.15-bookworm"),
          check({ image: "postgres:16.15-trixie" }, "postgres:17.7-trixie"),
          check({ image: "postgres:16.15-trixie" }, "postgres:16.15-alpine"),
        ].join(", ")}])`,
      ),
    );
    expect(results[0]).toEqual({
      inputs: { setting: "postgresImage", image: "postgres:16.15-bookworm", major: 16, os: "bookworm", libc: "glibc" },
    });
    expect(results[1].failures[0].reason).toMatch(/PostgreSQL 16 data cannot be opened by 17;/);
    expect(results[2].failures[0].reason).toMatch(/Debian trixie \(glibc\).*Alpine \(musl\)'s/);
  });

  test("diff sees a new pin only", async () => {
    const olds = { setting: "postgresImage", image: "postgres:16.15-trixie" };
    expect((await postgresDataGuardProvider.diff!("id", olds, { ...olds })).changes).toBe(false);
    expect((await postgresDataGuardProvider.diff!("id", olds, { ...olds, image: "postgres:16.16-trixie" })).changes).toBe(true);
  });
});

describe("migrationFailure", () => {
  const state = {
    image: "ghcr.io/berriai/litellm:v1.110.2",
    databaseUrl: "postgresql://litellm:p%40ss-w0rd-secret@postgres:5432/litellm",
  } as LitellmMigrationState;

  test("shows the container's last lines, without the database URL or its password in either form", () => {
    const logs = [
      ...Array.from({ length: 30 }, (_, i) => `line ${i}`),
      "connecting to postgresql://litellm:p%40ss-w0rd-secret@postgres:5432/litellm",
      "password p@ss-w0rd-secret refused",
      "Error: P3018 A migration failed to apply.",
    ].join("\n");
    const message = migrationFailure(state, 2, logs);
    expect(message).toMatch(
      /^LiteLLM's database migration with ghcr\.io\/berriai\/litellm:v1\.110\.2 failed \(exit 2\); the LiteLLM container was not replaced/,
    );
    expect(message).toContain("Error: P3018 A migration failed to apply.");
    expect(message).not.toContain("w0rd-secret");
    expect(message).toContain("connecting to [secret]");
    expect(message).toContain("password [secret] refused");
    // The last 20 lines only.
    expect(message).not.toContain("line 12\n");
    expect(message).toContain("line 13\n");
  });

  test("says so when the container wrote nothing", () => {
    expect(migrationFailure(state, 137, "")).toMatch(/\(exit 137\).*\n\(no output\)$/s);
  });
});

describe("litellmMigrationProvider, serialized as the engine runs it", () => {
  const state = {
    dockerHost: "unix:///nonexistent/docker.sock",
    sshOpts: [],
    image: "ghcr.io/berriai/litellm:v1.110.2",
    imageId: `sha256:${"b".repeat(64)}`,
    databaseUrl: "postgresql://litellm:pw@postgres:5432/litellm",
    network: "x-backend",
    litellmContainer: "x-litellm",
    migrationContainer: "x-litellm-migrate",
    memoryMb: 512,
    labels: {},
  };
  const olds = { ...state, imageId: `sha256:${"a".repeat(64)}`, migratedImageId: `sha256:${"a".repeat(64)}` };

  test("diff: a new image id is a change; the same declaration is none", async () => {
    const result = await runSerialized(
      litellmMigrationProvider,
      `Promise.all([provider.diff("id", ${JSON.stringify(olds)}, ${JSON.stringify(state)}), provider.diff("id", ${JSON.stringify(olds)}, ${JSON.stringify(olds)})])`,
    );
    expect(JSON.parse(result)).toEqual([{ changes: true }, { changes: false }]);
  });

  test("update with a new image runs the migration (here: reaches for the engine and fails with its error)", async () => {
    const result = await runSerialized(
      litellmMigrationProvider,
      `provider.update("id", ${JSON.stringify(olds)}, ${JSON.stringify(state)})`,
    );
    expect(result).toMatch(/^error: connect ENOENT \/nonexistent\/docker\.sock$/);
  });

  test("update without a new image (e.g. a new database URL) runs nothing", async () => {
    const moved = { ...olds, databaseUrl: "postgresql://litellm:new@postgres:5432/litellm" };
    const result = await runSerialized(
      litellmMigrationProvider,
      `provider.update("id", ${JSON.stringify(olds)}, ${JSON.stringify(moved)})`,
    );
    expect(JSON.parse(result)).toEqual({ outs: { ...moved, migratedImageId: olds.imageId } });
  });
});

describe("oneShotCreateBody", () => {
  test("a hardened container on one network, removed by the caller: no capabilities, no new privileges, no swap, no restart", () => {
    const body = oneShotCreateBody({
      name: "x-litellm-migrate",
      image: "sha256:abc",
      cmd: ["--skip_server_startup"],
      env: ["DATABASE_URL=postgresql://u:p@h/d"],
      network: "x-backend",
      memoryMb: 512,
      labels: { a: "b" },
    });
    expect(body).toEqual({
      Image: "sha256:abc",
      Cmd: ["--skip_server_startup"],
      Env: ["DATABASE_URL=postgresql://u:p@h/d"],
      Labels: { a: "b" },
      Tty: false,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      HostConfig: {
        NetworkMode: "x-backend",
        CapDrop: ["ALL"],
        CapAdd: [],
        SecurityOpt: ["no-new-privileges=true"],
        Memory: 512 * 1024 * 1024,
        MemorySwap: 512 * 1024 * 1024,
        RestartPolicy: { Name: "no" },
        LogConfig: { Type: "json-file", Config: {} },
      },
    });
  });
});
