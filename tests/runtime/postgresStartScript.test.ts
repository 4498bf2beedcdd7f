/**
 * runtime/postgres-start.sh against Debian's real PostgreSQL, in a private network namespace: it
 * gives the role the stack's password through the SCRAM verifier the program computes
 * (lib/scram.ts), so the password works afterwards and the server, logging every statement, never
 * sees it (review finding F21). The image's entrypoint is stood in for by a two-line script that
 * starts the server the way the image's does at the end (`exec postgres "$@"`).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { POSTGRES_USER } from "../../lib/constants";
import { scramSha256Verifier } from "../../lib/scram";
import { pollUntil } from "../helpers/dockerEngine";
import { NetNs } from "../helpers/netns";
import {
  describeWith,
  INITDB_ENCODING,
  initdbCommand,
  postgresBinDir,
  postgresStartCommand,
  psqlOverTcpCommand,
  requirements,
} from "../helpers/requirements";
import { ROOT } from "../helpers/program";

const OLD_PASSWORD = "passwordOfAnEarlierStack1";
const NEW_PASSWORD = "k3yThisStackGenerated9Zq7Lm2Xw4Rt8Vb";

describeWith(
  "postgres-start.sh gives the role its password as a SCRAM verifier (real server)",
  [requirements.postgres(), requirements.netns()],
  () => {
    const bin = postgresBinDir()!;
    let ns: NetNs;
    let dir: string;
    let output = "";

    const psqlTcp = (password: string, sql: string) =>
      ns.run(psqlOverTcpCommand(bin, POSTGRES_USER, password, sql), {
        user: "postgres",
      });

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-pgstart-"));
      fs.chmodSync(dir, 0o755);
      fs.mkdirSync(path.join(dir, "sock"));
      fs.mkdirSync(path.join(dir, "bin"));
      fs.writeFileSync(path.join(dir, "pw"), OLD_PASSWORD);
      // The image's entrypoint, as far as this script needs it: `docker-entrypoint.sh postgres ARGS` runs the server.
      fs.writeFileSync(path.join(dir, "bin", "docker-entrypoint.sh"), '#!/bin/sh\nshift\nexec postgres -D "$PGDATA" "$@"\n', {
        mode: 0o755,
      });
      fs.copyFileSync(path.join(ROOT, "runtime", "postgres-start.sh"), path.join(dir, "start.sh"));
      execFileSync("chown", ["-R", "postgres:postgres", dir]);
      ns = new NetNs();
      // An existing volume: initialised with another password, as after a destroy that kept it.
      const init = ns.run(initdbCommand(bin, dir, POSTGRES_USER), { user: "postgres", timeoutMs: 60000 });
      expect(init.status).toBe(0);

      const child = ns.start(
        postgresStartCommand(bin, dir, NEW_PASSWORD, [
          // Every statement in the server log, as an operator debugging a problem might set it.
          "-c",
          "log_statement=all",
        ]),
        { user: "postgres" },
      );
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      await pollUntil(
        "the start script's password step",
        30000,
        async () => (output.includes("has the stack's password") ? true : undefined),
        200,
      );
    });

    afterAll(() => {
      ns?.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test("the role takes the stack's password over TCP (SCRAM) and no longer the old one", () => {
      const answer = psqlTcp(NEW_PASSWORD, "SELECT 1");
      expect([answer.status, answer.stdout.trim()]).toEqual([0, "1"]);
      expect(psqlTcp(OLD_PASSWORD, "SELECT 1").status).not.toBe(0);
    });

    test("the server stored the program's verifier as sent", () => {
      const stored = psqlTcp(NEW_PASSWORD, `SELECT rolpassword FROM pg_authid WHERE rolname = '${POSTGRES_USER}'`);
      expect(stored.stdout.trim()).toBe(scramSha256Verifier(NEW_PASSWORD));
    });

    test("a new volume: initdb, given the verifier as the image's entrypoint passes POSTGRES_PASSWORD, stores it as the role's password", async () => {
      const fresh = path.join(dir, "fresh");
      fs.writeFileSync(path.join(dir, "verifier"), `${scramSha256Verifier(NEW_PASSWORD)}\n`);
      execFileSync("chown", ["postgres:postgres", path.join(dir, "verifier")]);
      const init = ns.run(
        [
          path.join(bin, "initdb"),
          "-D",
          fresh,
          "-U",
          POSTGRES_USER,
          `--pwfile=${path.join(dir, "verifier")}`,
          "--auth-host=scram-sha-256",
          "--auth-local=trust",
          ...INITDB_ENCODING,
        ],
        { user: "postgres", timeoutMs: 60000 },
      );
      expect(init.status).toBe(0);
      const start = ns.run(
        [
          path.join(bin, "pg_ctl"),
          "-D",
          fresh,
          "-l",
          path.join(dir, "fresh.log"),
          "-w",
          "-o",
          `-c listen_addresses=127.0.0.1 -c port=5433 -c unix_socket_directories=${path.join(dir, "sock")}`,
          "start",
        ],
        { user: "postgres", timeoutMs: 60000 },
      );
      expect(start.status).toBe(0);
      const login = (password: string) => ns.run(psqlOverTcpCommand(bin, POSTGRES_USER, password, "SELECT 1", 5433), { user: "postgres" });
      expect(login(NEW_PASSWORD).status).toBe(0);
      // Not the verifier itself: it is not a password that logs in.
      expect(login(scramSha256Verifier(NEW_PASSWORD)).status).not.toBe(0);
      ns.run([path.join(bin, "pg_ctl"), "-D", fresh, "-m", "immediate", "stop"], { user: "postgres" });
    });

    test("the server log, with every statement logged, holds the ALTER ROLE with the verifier and never the password", () => {
      expect(output).toMatch(/statement: ALTER ROLE CURRENT_USER WITH PASSWORD 'SCRAM-SHA-256\$4096:/);
      expect(output).not.toContain(NEW_PASSWORD);
    });
  },
);
