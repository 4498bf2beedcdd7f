/**
 * The program's PostgreSQL healthcheck and server flags, run for real against Debian's PostgreSQL
 * inside a private network namespace (so the command runs verbatim on port 5432). The start
 * script that touches the healthcheck's marker runs in the end-to-end suite, in the containers a
 * real `pulumi up` creates (tests/e2e/runtime.test.ts); here the marker is set by hand.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { POSTGRES_PASSWORD_APPLIED, POSTGRES_USER } from "../../lib/constants";
import { postgresHealthcheck, postgresServerArgs } from "../../lib/services";
import { PROFILES } from "../../profiles";
import { pollUntil, probeCommand } from "../helpers/dockerEngine";
import { NetNs } from "../helpers/netns";
import { describeWith, initdbCommand, postgresBinDir, requirements } from "../helpers/requirements";

describeWith("PostgreSQL healthcheck and tuning (real server)", [requirements.postgres(), requirements.netns()], () => {
  const bin = postgresBinDir()!;
  let ns: NetNs;
  let dir: string;
  const probe = () => ns.run(probeCommand(postgresHealthcheck().test), { timeoutMs: 10000 });
  // -l: the server's output goes to a file, so the pg_ctl call returns once the server is up.
  const pgctl = (args: string[]) =>
    ns.run([path.join(bin, "pg_ctl"), "-D", path.join(dir, "data"), "-l", path.join(dir, "server.log"), "-w", "-t", "30", ...args], {
      user: "postgres",
    });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-pg-"));
    fs.chmodSync(dir, 0o755);
    fs.writeFileSync(path.join(dir, "pw"), "generatedPassword123");
    fs.mkdirSync(path.join(dir, "sock"));
    execFileSync("chown", ["-R", "postgres:postgres", dir]);
    ns = new NetNs();
    const init = ns.run(initdbCommand(bin, dir, POSTGRES_USER), { user: "postgres", timeoutMs: 60000 });
    expect(init.status).toBe(0);
  });

  afterAll(() => {
    fs.rmSync(POSTGRES_PASSWORD_APPLIED, { force: true });
    pgctl(["stop", "-m", "immediate"]);
    ns?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the probe fails while nothing runs", () => {
    fs.writeFileSync(POSTGRES_PASSWORD_APPLIED, "");
    expect(probe().status).not.toBe(0);
  });

  test("the probe is not fooled by the image's init-time server, which listens on the socket only", () => {
    const start = pgctl(["start", "-o", `-c listen_addresses='' -c unix_socket_directories=${path.join(dir, "sock")}`]);
    expect(start.status).toBe(0);
    // A socket probe (what `pg_isready` without -h does) reports this temporary server as ready...
    const socketProbe = ns.run([path.join(bin, "pg_isready"), "-h", path.join(dir, "sock"), "-p", "5432", "-U", POSTGRES_USER]);
    expect(socketProbe.status).toBe(0);
    // ...the program's TCP probe does not.
    expect(probe().status).toBe(2);
    expect(pgctl(["stop"]).status).toBe(0);
  });

  test.each(["small", "medium", "large"] as const)(
    "%s: the server accepts the profile's flags and the probe turns healthy",
    async (profile) => {
      const tuning = PROFILES[profile].postgres.tuning;
      const flags = postgresServerArgs(tuning).slice(1).join(" ");
      const start = pgctl([
        "start",
        "-o",
        `${flags} -c listen_addresses=127.0.0.1 -c port=5432 -c unix_socket_directories=${path.join(dir, "sock")}`,
      ]);
      expect(start.status).toBe(0);
      await pollUntil("pg_isready over TCP", 20000, async () => (probe().status === 0 ? true : undefined), 200);
      // A server that is up but whose role has not been given the stack's password yet is not healthy.
      fs.rmSync(POSTGRES_PASSWORD_APPLIED);
      expect(probe().status).toBe(1);
      fs.writeFileSync(POSTGRES_PASSWORD_APPLIED, "");
      expect(probe().status).toBe(0);
      const psql = [
        path.join(bin, "psql"),
        "-w",
        "-h",
        "127.0.0.1",
        "-U",
        POSTGRES_USER,
        "-d",
        "postgres",
        "-Atc",
        "SHOW max_connections; SHOW shared_buffers; SHOW work_mem",
      ];
      // Over TCP the role needs its password (scram-sha-256): without it the connection is refused.
      expect(ns.run(psql, { user: "postgres" }).status).not.toBe(0);
      const withPassword = ns.run(["env", "PGPASSWORD=generatedPassword123", ...psql], { user: "postgres" });
      expect(withPassword.stderr).toBe("");
      expect(withPassword.stdout.trim().split("\n")).toEqual([
        String(tuning.maxConnections),
        `${tuning.sharedBuffersMb}MB`,
        `${tuning.workMemMb}MB`,
      ]);
      expect(pgctl(["stop"]).status).toBe(0);
      expect(probe().status).not.toBe(0);
    },
  );
});
