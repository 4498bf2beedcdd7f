import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * Runs `command` with `shell` in a scratch directory whose PATH starts with a fake `program` that
 * records each call's arguments (NUL-separated, one file per call). Returns the calls and what
 * else appeared in the directory (a hostile value's marker file). For the commands the stack prints
 * for people to paste: what a shell really makes of them, not what the string looks like.
 */
export function runRecorded(shell: string, command: string, program: string): { calls: string[][]; strayFiles: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-recorded-"));
  try {
    const bin = path.join(dir, "bin");
    const calls = path.join(dir, "calls");
    const cwd = path.join(dir, "cwd");
    for (const d of [bin, calls, cwd]) {
      fs.mkdirSync(d);
    }
    fs.writeFileSync(
      path.join(bin, program),
      `#!/bin/sh\nout=$(mktemp "${calls}/call.XXXXXX")\nfor a in "$@"; do printf '%s\\0' "$a"; done > "$out"\n`,
      { mode: 0o755 },
    );
    execFileSync(shell, ["-c", command], { cwd, env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir }, stdio: "pipe" });
    return {
      calls: fs.readdirSync(calls).map((f) => fs.readFileSync(path.join(calls, f), "utf8").split("\0").slice(0, -1)),
      strayFiles: fs.readdirSync(cwd),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
