/**
 * postgresPasswordVersion's rotation against Debian's real PostgreSQL, in a private network
 * namespace: the exact steps the stack runs. A volume initialised with the old password's verifier
 * (as the image's entrypoint does on first start) holds data written with the old password; then
 * PostgreSQL's container is re-created on the same volume with the new verifier in
 * POSTGRES_PASSWORD (lib/services.ts postgresEnv, lib/scram.ts) and runtime/postgres-start.sh starts
 * it. The data is readable with the new password and the old one is refused. The image's entrypoint
 * is stood in for by the two lines of it this needs (`exec postgres "$@"`), as in
 * postgresStartScript.test.ts.
 */
import { ChildProcess, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { POSTGRES_USER } from "../../lib/constants";
import { scramSha256Verifier } from "../../lib/scram";
import { pollUntil } from "../helpers/dockerEngine";
import { NetNs } from "../helpers/netns";
import {
  describeWith,
  initdbCommand,
  postgresBinDir,
  postgresStartCommand,
  psqlOverTcpCommand,
  requirements,
} from "../helpers/requirements";
import { ROOT } from "../helpers/program";

// Generated passwords are 32 letters and digits (components/secrets.ts).
const OLD_PASSWORD = "Vq8rT2mXw4Lp9Zk3Hn6Bd1Fs7Gc5Jy0a";
const NEW_PASSWORD = "Rt5Yh2Nw8Qe4Kx7Mv1Lb9Dp3Zs6Cg0Fu";

describeWith(
  "postgresPasswordVersion: the stack's rotation keeps the data and changes the password (real server)",
  [requirements.postgres(), requirements.netns()],
  () => {
    const bin = postgresBinDir()!;
    let ns: NetNs;
    let dir: string;

    const psqlTcp = (password: string, sql: string) => ns.run(psqlOverTcpCommand(bin, POSTGRES_USER, password, sql), { user: "postgres" });

    /** A start of PostgreSQL's container: the start script with the environment the program gives it for `password`. */
    async function startContainer(password: string): Promise<{ child: ChildProcess; output: () => string }> {
      let output = "";
      const child = ns.start(postgresStartCommand(bin, dir, password), { user: "postgres" });
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      await pollUntil(
        "the start script's password step",
        30000,
        async () => (output.includes("has the stack's password") ? true : undefined),
        200,
      );
      return { child, output: () => output };
    }

    /** The container stopped: the server shut down fast (as on the image's stop signal) and the script gone with it. */
    async function stopContainer(child: ChildProcess): Promise<void> {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      const stop = ns.run([path.join(bin, "pg_ctl"), "-D", path.join(dir, "data"), "-m", "fast", "-w", "stop"], {
        user: "postgres",
        timeoutMs: 60000,
      });
      expect(stop.status).toBe(0);
      await exited;
    }

    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-pgrotate-"));
      fs.chmodSync(dir, 0o755);
      fs.mkdirSync(path.join(dir, "sock"));
      fs.mkdirSync(path.join(dir, "bin"));
      // The image's first start: initdb with POSTGRES_PASSWORD, which the stack sets to the verifier.
      fs.writeFileSync(path.join(dir, "pw"), `${scramSha256Verifier(OLD_PASSWORD)}\n`);
      fs.writeFileSync(path.join(dir, "bin", "docker-entrypoint.sh"), '#!/bin/sh\nshift\nexec postgres -D "$PGDATA" "$@"\n', {
        mode: 0o755,
      });
      fs.copyFileSync(path.join(ROOT, "runtime", "postgres-start.sh"), path.join(dir, "start.sh"));
      execFileSync("chown", ["-R", "postgres:postgres", dir]);
      ns = new NetNs();
      const init = ns.run(initdbCommand(bin, dir, POSTGRES_USER), { user: "postgres", timeoutMs: 60000 });
      expect(init.status).toBe(0);
    });

    afterAll(() => {
      ns?.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test("data written with the old password is read with the new one after the rotation; the old password is refused", async () => {
      const first = await startContainer(OLD_PASSWORD);
      const write = psqlTcp(
        OLD_PASSWORD,
        "CREATE TABLE spend (id int PRIMARY KEY, usd numeric); INSERT INTO spend SELECT i, i * 0.25 FROM generate_series(1, 1000) i; SELECT count(*), sum(usd) FROM spend",
      );
      expect([write.status, write.stdout.trim().split("\n").pop()]).toEqual([0, "1000|125125.00"]);
      expect(psqlTcp(NEW_PASSWORD, "SELECT 1").status).not.toBe(0);
      await stopContainer(first.child);

      // postgresPasswordVersion raised: a new container on the same volume, with the new password's verifier.
      const second = await startContainer(NEW_PASSWORD);
      const read = psqlTcp(NEW_PASSWORD, "SELECT count(*), sum(usd) FROM spend");
      expect([read.status, read.stdout.trim()]).toEqual([0, "1000|125125.00"]);
      const refused = psqlTcp(OLD_PASSWORD, "SELECT count(*) FROM spend");
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain(`password authentication failed for user "${POSTGRES_USER}"`);
      // The server got the verifier, never the password.
      expect(second.output()).not.toContain(NEW_PASSWORD);
      await stopContainer(second.child);
    });
  },
);
