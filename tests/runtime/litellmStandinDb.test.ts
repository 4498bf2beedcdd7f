/**
 * The LiteLLM stand-in (tests/fixtures/docker/litellm_standin.py) with a DATABASE_URL, as the
 * end-to-end suite runs it: against a real PostgreSQL (Debian's server, a throwaway cluster on a
 * free loopback port), its virtual keys are rows of LiteLLM's table "LiteLLM_VerificationToken",
 * so they outlive the process the way LiteLLM's outlive a replaced container; and a start against
 * a database it cannot use ends as LiteLLM's does (exit 2 before it listens, so Docker restarts it).
 *
 * The tests run in order against one cluster.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { DeclaredKey } from "../../components/keyRegistration";
import { AGENT_KEY, OPEN_WEBUI_KEY } from "../fixtures/declaredKeys";
import { POSTGRES_DB, POSTGRES_USER } from "../../lib/constants";
import { pollUntil } from "../helpers/dockerEngine";
import { ROOT } from "../helpers/program";
import { Standin, STANDIN_SCRIPT, standinEnv, startStandin } from "../helpers/litellmStandin";
import { freePort } from "../fixtures/nginx/nginxRunner";
import { describeWith, initdbCommand, postgresBinDir, requirements } from "../helpers/requirements";

const SCRIPT = path.join(ROOT, "runtime", "litellm_keys.py");
const MASTER_KEY = "sk-master-key-for-tests-0123456789abcdef";
const PASSWORD = "pg-password-for-tests-0123456789";
const TABLE = '"LiteLLM_VerificationToken"';

const openWebui = OPEN_WEBUI_KEY;
const agent = AGENT_KEY;

describeWith("LiteLLM stand-in with its keys in PostgreSQL (real server)", [requirements.python3(), requirements.postgres()], () => {
  const bin = postgresBinDir()!;
  // initdb and postgres refuse to run as root.
  const asServerUser = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  let dir: string;
  let port: number;
  let databaseUrl: string;
  let litellm: Standin | undefined;

  /** The stand-in's env: the cluster's DATABASE_URL, and this PostgreSQL's psql first on PATH. */
  const dbEnv = (url = databaseUrl) => ({ DATABASE_URL: url, PATH: `${bin}:${process.env.PATH}` });

  /** A server command as the cluster's owner, from / (which that user may enter). */
  function asOwner(argv: string[], timeoutMs = 60000) {
    const command = [...asServerUser, ...argv];
    return spawnSync(command[0], command.slice(1), { cwd: "/", encoding: "utf8", timeout: timeoutMs });
  }
  const pgctl = (args: string[]) =>
    asOwner([path.join(bin, "pg_ctl"), "-D", path.join(dir, "data"), "-l", path.join(dir, "server.log"), "-w", "-t", "30", ...args]);
  const startServer = () =>
    pgctl(["start", "-o", `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${path.join(dir, "sock")}`]);

  /** A query over TCP with the password, the way the stand-in connects; tuples only, unaligned. */
  function sql(query: string): string {
    const result = spawnSync(
      path.join(bin, "psql"),
      ["-X", "-tA", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", POSTGRES_USER, "-d", POSTGRES_DB, "-c", query],
      { encoding: "utf8", env: { ...process.env, PGPASSWORD: PASSWORD }, timeout: 30000 },
    );
    if (result.status !== 0) {
      throw new Error(`psql failed: ${result.stderr}`);
    }
    return result.stdout.trim();
  }

  /** runtime/litellm_keys.py against the running stand-in, as the key registration runs it. */
  function register(keys: DeclaredKey[], mode = "apply") {
    const result = spawnSync("python3", [SCRIPT], {
      input: JSON.stringify({ baseUrl: litellm!.url, masterKey: MASTER_KEY, mode, keys }),
      encoding: "utf8",
      timeout: 60000,
    });
    return { status: result.status, stdout: result.stdout ? JSON.parse(result.stdout) : null, stderr: result.stderr.trim() };
  }

  /** The stand-in started to completion or failure: its exit status and output (never left running). */
  function startToExit(env: Record<string, string>, args: string[] = []) {
    const result = spawnSync("python3", [STANDIN_SCRIPT, ...args], {
      env: { ...standinEnv(MASTER_KEY, env), STANDIN_RUN_DIR: dir },
      encoding: "utf8",
      timeout: 30000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  const restart = async () => {
    await litellm!.stop();
    litellm = await startStandin(MASTER_KEY, { env: dbEnv() });
  };
  const models = (key: string) => fetch(`${litellm!.url}/v1/models`, { headers: { Authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-standin-pg-"));
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, "pw"), PASSWORD);
    fs.mkdirSync(path.join(dir, "sock"));
    if (asServerUser.length > 0) {
      spawnSync("chown", ["-R", "postgres:postgres", dir]);
    }
    const init = asOwner(initdbCommand(bin, dir, POSTGRES_USER));
    expect({ status: init.status, stderr: init.stderr }).toMatchObject({ status: 0 });
    port = await freePort();
    expect(startServer().status).toBe(0);
    const create = asOwner([
      path.join(bin, "psql"),
      "-X",
      "-h",
      path.join(dir, "sock"),
      "-p",
      String(port),
      "-U",
      POSTGRES_USER,
      "-d",
      "postgres",
      "-c",
      `CREATE DATABASE ${POSTGRES_DB}`,
    ]);
    expect(create.stderr).toBe("");
    // The program's form: postgresql://litellm:<password>@<host>:<port>/litellm
    databaseUrl = `postgresql://${POSTGRES_USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/${POSTGRES_DB}`;
  }, 120_000);

  afterAll(async () => {
    await litellm?.stop();
    if (dir) {
      pgctl(["stop", "-m", "immediate"]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("at start it creates LiteLLM's table (names and types of LiteLLM's schema) before it listens", async () => {
    expect(sql(`SELECT to_regclass('public.${TABLE}') IS NULL`)).toBe("t");
    litellm = await startStandin(MASTER_KEY, { env: dbEnv() });
    const columns = sql(
      "SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns " +
        "WHERE table_name = 'LiteLLM_VerificationToken' ORDER BY column_name",
    ).split("\n");
    expect(columns).toEqual(
      expect.arrayContaining([
        "token text NO",
        "key_name text YES",
        "key_alias text YES",
        "models ARRAY YES",
        "max_budget double precision YES",
        "budget_duration text YES",
        "rpm_limit bigint YES",
        "tpm_limit bigint YES",
        "spend double precision NO",
        "metadata jsonb NO",
      ]),
    );
    expect(sql(`SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'LiteLLM_VerificationToken_pkey'`)).toBe(
      "PRIMARY KEY (token)",
    );
    expect(await litellm.control({})).toEqual({ db: "up", keys: 0 });
  });

  test("the keys runtime/litellm_keys.py registers are rows: the key's sha256 as token, never the key itself", async () => {
    const result = register([openWebui, agent]);
    expect(result).toMatchObject({ status: 0, stdout: { created: ["gw-open-webui", "gw-ci-agent"], inSync: false } });
    const rows = sql(
      `SELECT key_alias, models, max_budget, budget_duration, rpm_limit, tpm_limit, spend, metadata->>'managed_by' FROM ${TABLE} ORDER BY key_alias`,
    );
    expect(rows.split("\n")).toEqual(["gw-ci-agent|{gpt-4o}|5|7d|60|100000|0|ai-gateway", "gw-open-webui|{}|15|30d|||0|ai-gateway"]);
    const sha256 = createHash("sha256").update(agent.key).digest("hex");
    expect(sql(`SELECT token FROM ${TABLE} WHERE key_alias = 'gw-ci-agent'`)).toBe(sha256);
    const everything = sql(`SELECT t::text FROM ${TABLE} t`);
    expect(everything).not.toContain(agent.key);
    expect(everything).not.toContain(openWebui.key);
  });

  test("a restarted stand-in (a replaced LiteLLM on the kept database) still has every key", async () => {
    await restart();
    expect(await litellm!.control({})).toEqual({ db: "up", keys: 2 });
    const info = await litellm!.info(agent.key);
    expect(info.status).toBe(200);
    expect(info.body.info).toMatchObject({
      key_alias: "gw-ci-agent",
      models: ["gpt-4o"],
      max_budget: 5,
      budget_duration: "7d",
      rpm_limit: 60,
      tpm_limit: 100000,
      spend: 0,
      metadata: { managed_by: "ai-gateway" },
    });
    expect((await models(agent.key)).status).toBe(200);
    expect((await models(openWebui.key)).status).toBe(200);
    expect((await models("sk-notAKEY0123456789abcdefghijklmnop")).status).toBe(401);
    // The registration's next run (the next `pulumi up`) finds nothing to do: it only reads.
    await litellm!.control({ clearCalls: true });
    expect(register([openWebui, agent]).stdout).toMatchObject({ inSync: true, unchanged: ["gw-open-webui", "gw-ci-agent"] });
    expect((await litellm!.calls()).map((c) => `${c.method} ${c.path}`)).toEqual(["POST /v2/key/info", "POST /v2/key/info"]);
  });

  test("spend written by the test control is in the table, an update keeps it, and it outlives a restart", async () => {
    await litellm!.control({ spend: { "gw-open-webui": 3.25 } });
    expect(sql(`SELECT spend FROM ${TABLE} WHERE key_alias = 'gw-open-webui'`)).toBe("3.25");
    expect(register([{ ...openWebui, max_budget: 200 }, agent]).stdout).toMatchObject({ updated: ["gw-open-webui"] });
    expect(sql(`SELECT max_budget || ' ' || spend FROM ${TABLE} WHERE key_alias = 'gw-open-webui'`)).toBe("200 3.25");
    await restart();
    expect((await litellm!.info(openWebui.key)).body.info).toMatchObject({ max_budget: 200, spend: 3.25 });
  });

  test("a key removed from config is deleted from the table", async () => {
    const result = spawnSync("python3", [SCRIPT], {
      input: JSON.stringify({
        baseUrl: litellm!.url,
        masterKey: MASTER_KEY,
        keys: [{ ...openWebui, max_budget: 200 }],
        remove: [{ alias: agent.alias, key: agent.key }],
      }),
      encoding: "utf8",
    });
    expect(JSON.parse(result.stdout)).toMatchObject({ deleted: ["gw-ci-agent"] });
    expect(sql(`SELECT string_agg(key_alias, ',') FROM ${TABLE}`)).toBe("gw-open-webui");
    // Archived as LiteLLM does: /key/info still answers, marked deleted, and the key no longer works.
    expect(sql(`SELECT key_alias FROM "LiteLLM_DeletedVerificationToken"`)).toBe("gw-ci-agent");
    expect((await litellm!.info(agent.key)).body.info.status).toBe("deleted");
    expect((await models(agent.key)).status).toBe(401);
  });

  test("aliases and model names are stored as values, never run as SQL", async () => {
    const alias = `x'); DROP TABLE ${TABLE}; --\\ "é"\n`;
    const modelNames = ["a'b", 'c"d', "e\\f", "{g,h}", ":'var'"];
    const response = await fetch(`${litellm!.url}/key/generate`, {
      method: "POST",
      headers: { Authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify({ key_alias: alias, models: modelNames, metadata: { note: "'; SELECT 1; --" } }),
    });
    // The body in the failure: a 500 carries the database error (seen once in a cold CI run under load).
    const body = await response.text();
    expect([response.status, response.status === 200 ? "" : body]).toEqual([200, ""]);
    const key = (JSON.parse(body) as { key: string }).key;
    await restart();
    const info = (await litellm!.info(key)).body.info;
    expect(info).toMatchObject({ key_alias: alias, models: modelNames, metadata: { note: "'; SELECT 1; --" } });
    expect(sql(`SELECT count(*) FROM ${TABLE}`)).toBe("2");
    expect(sql(`SELECT array_length(models, 1) FROM ${TABLE} WHERE key_alias LIKE 'x'')%'`)).toBe("5");
    // The alias is unique across keys here too.
    const again = await fetch(`${litellm!.url}/key/generate`, {
      method: "POST",
      headers: { Authorization: `Bearer ${MASTER_KEY}` },
      body: JSON.stringify({ key_alias: alias }),
    });
    expect(again.status).toBe(400);
  });

  test("reset empties the table; the next registration puts the keys back", async () => {
    expect(await litellm!.control({ reset: true })).toEqual({ db: "up", keys: 0 });
    expect(sql(`SELECT count(*) FROM ${TABLE}`)).toBe("0");
    expect(register([openWebui, agent]).stdout.created).toEqual(["gw-open-webui", "gw-ci-agent"]);
    expect(sql(`SELECT count(*) FROM ${TABLE}`)).toBe("2");
  });

  test("PostgreSQL stopping at run time: liveness still answers, key calls fail with 500, and work again once it is back and the reconnect cooldown is over", async () => {
    // LiteLLM's reconnect cooldown (PRISMA_RECONNECT_COOLDOWN_SECONDS), shortened from its 15 s.
    const cooldownMs = 6000;
    await litellm!.stop();
    litellm = await startStandin(MASTER_KEY, { env: { ...dbEnv(), PRISMA_RECONNECT_COOLDOWN_SECONDS: String(cooldownMs / 1000) } });
    expect((await litellm.info(agent.key)).status).toBe(200);
    expect(pgctl(["stop", "-m", "fast"]).status).toBe(0);
    let lostAt = 0;
    try {
      const live = await fetch(`${litellm!.url}/health/liveliness`);
      expect({ status: live.status, body: await live.json() }).toEqual({ status: 200, body: "I'm alive!" });
      const info = await litellm!.info(agent.key);
      // The lookup that found the connection lost tried its one reconnect: the cooldown starts now.
      lostAt = Date.now();
      expect(info.status).toBe(500);
      expect(info.body.error).toMatchObject({ message: "Internal server error from /key/info. Details are in the proxy server logs." });
      const update = await fetch(`${litellm!.url}/key/update`, {
        method: "POST",
        headers: { Authorization: `Bearer ${MASTER_KEY}` },
        body: JSON.stringify({ key: agent.key, max_budget: 1 }),
      });
      expect(update.status).toBe(503);
      expect(((await update.json()) as any).error.type).toBe("no_db_connection");
      const result = register([openWebui, agent]);
      expect(result.status).toBe(1);
      // /v2/key/info passes the driver's text on (handle_exception_on_proxy); LiteLLM's is Prisma's.
      expect(result.stderr).toMatch(/^LiteLLM answered 500 to POST \/v2\/key\/info: \S/);
    } finally {
      expect(startServer().status).toBe(0);
    }
    // Back, but LiteLLM tries again only once the cooldown is over, as real LiteLLM does.
    expect(Date.now() - lostAt).toBeLessThan(cooldownMs - 1000);
    const early = await litellm!.info(agent.key);
    expect(early.status).toBe(500);
    const back = await pollUntil("the key lookup after PostgreSQL is back", cooldownMs + 5000, async () =>
      (await litellm!.info(agent.key)).status === 200 ? Date.now() - lostAt : undefined,
    );
    expect(back).toBeGreaterThanOrEqual(cooldownMs - 1000);
    expect(register([openWebui, agent]).stdout.inSync).toBe(true);
    await restart();
  });

  test("a start against a database it cannot use ends like LiteLLM's: exit 2, never listening, so Docker restarts it", async () => {
    const unused = await freePort();
    const unreachable = startToExit(dbEnv(`postgresql://${POSTGRES_USER}:${PASSWORD}@127.0.0.1:${unused}/${POSTGRES_DB}`));
    expect(unreachable.status).toBe(2);
    expect(unreachable.stdout).not.toContain("listening");
    expect(unreachable.stderr).toMatch(/^LiteLLM Proxy: Database migration cannot proceed\. .*Connection refused/s);

    const refused = startToExit(dbEnv(databaseUrl.replace(encodeURIComponent(PASSWORD), "not-the-password")));
    expect(refused.status).toBe(2);
    expect(refused.stdout).not.toContain("listening");
    expect(refused.stderr).toContain('password authentication failed for user "litellm"');
    expect(refused.stderr).not.toContain("not-the-password");

    // LiteLLM refuses a URL that is not PostgreSQL's with exit 1.
    expect(startToExit(dbEnv("mysql://litellm:pw@127.0.0.1:3306/litellm"))).toMatchObject({ status: 1, stdout: "" });
  });

  describe("migrations of a newer image, as the upgrade's one-shot container runs them (--skip_server_startup)", () => {
    const GOOD = "20261110000000_standin_upgrade";
    const BROKEN = "20261120000000_standin_broken_migration";
    const ledger = () => sql(`SELECT migration_name || ' ' || (finished_at IS NOT NULL) FROM "_prisma_migrations" ORDER BY started_at`);
    const column = (name: string) =>
      sql(
        `SELECT count(*) FROM information_schema.columns WHERE table_name = 'LiteLLM_VerificationToken' AND column_name = 'standin_${name}'`,
      );

    test("--skip_server_startup sets up and migrates, says so and exits 0 without listening; a second run is a no-op", () => {
      expect(ledger()).toBe("");
      const first = startToExit({ ...dbEnv(), STANDIN_MIGRATION: GOOD }, ["--skip_server_startup"]);
      expect(first).toMatchObject({ status: 0, stdout: "LiteLLM: Setup complete. Skipping server startup as requested.\n", stderr: "" });
      expect(ledger()).toBe(`${GOOD} true`);
      expect(column(GOOD)).toBe("1");
      expect(startToExit({ ...dbEnv(), STANDIN_MIGRATION: GOOD }, ["--skip_server_startup"]).status).toBe(0);
      expect(ledger()).toBe(`${GOOD} true`);
    });

    test("the running proxy still serves its keys after the newer image's migration (the migration only adds)", async () => {
      expect((await litellm!.info(agent.key)).status).toBe(200);
    });

    test("a broken migration is half-applied, recorded unfinished with Prisma's error, and exits 2 with LiteLLM's and Prisma's text", async () => {
      const broken = startToExit({ ...dbEnv(), STANDIN_MIGRATION: BROKEN, STANDIN_MIGRATION_BREAKS: "true" }, ["--skip_server_startup"]);
      expect(broken.status).toBe(2);
      expect(broken.stdout).toBe("");
      expect(broken.stderr).toMatch(
        /^LiteLLM Proxy: Database migration cannot proceed\. Database migration failed and cannot be auto-recovered\. Manual intervention required\.\n\nPrisma error:\nError: P3018\n\nA migration failed to apply\. New migrations cannot be applied before the error is recovered from\./,
      );
      expect(broken.stderr).toContain(
        `Migration name: ${BROKEN}\n\nDatabase error code: 42703\n\nDatabase error:\nERROR:  column "no_such_column" does not exist`,
      );
      expect(broken.stderr).not.toContain(PASSWORD);
      // Half-applied: its first statement is committed, the ledger row unfinished with the error.
      expect(column(BROKEN)).toBe("1");
      expect(ledger()).toBe(`${GOOD} true\n${BROKEN} false`);
      expect(sql(`SELECT logs FROM "_prisma_migrations" WHERE migration_name = '${BROKEN}'`)).toContain("P3018");
      // The proxy that was running is untouched and still serves.
      expect((await litellm!.info(agent.key)).status).toBe(200);
    });

    test("after it, every start stops with P3009 (as LiteLLM's v2 resolver does) until the row is resolved or the database restored", () => {
      const stopped = startToExit(dbEnv());
      expect(stopped.status).toBe(2);
      expect(stopped.stderr).toMatch(
        /^LiteLLM Proxy: Database migration cannot proceed\. Migration completion could not be verified\. LiteLLM startup has stopped\./,
      );
      expect(stopped.stderr).toContain(`Error: P3009`);
      expect(stopped.stderr).toContain(`The \`${BROKEN}\` migration started at `);
      // LiteLLM's documented recovery (troubleshoot/prisma_migrations.md): delete the row, start again.
      sql(`DELETE FROM "_prisma_migrations" WHERE migration_name = '${BROKEN}'`);
      expect(startToExit(dbEnv(), ["--skip_server_startup"]).status).toBe(0);
    });
  });

  test("STANDIN_KEYS=memory keeps keys in memory despite a DATABASE_URL (container tests without PostgreSQL)", async () => {
    const unused = await freePort();
    const memory = await startStandin(MASTER_KEY, {
      env: { ...dbEnv(`postgresql://${POSTGRES_USER}:${PASSWORD}@127.0.0.1:${unused}/${POSTGRES_DB}`), STANDIN_KEYS: "memory" },
    });
    try {
      expect(await memory.control({})).toEqual({ db: "up", keys: 0 });
    } finally {
      await memory.stop();
    }
  });
});
