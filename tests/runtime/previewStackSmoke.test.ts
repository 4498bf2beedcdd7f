/**
 * `npm run preview-stack -- smoke NAME ...` runs the project's `npm run smoke -- --stack NAME ...`
 * as a process of its own, in the working directory, and exits with its code. Run for real against
 * a project directory whose `smoke` script records what it was given, so this holds whatever the
 * smoke test itself does (tools/smoke.ts).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { ROOT } from "../helpers/program";

const execFileAsync = promisify(execFile);

describe("preview-stack smoke", () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "preview-smoke-"));
    // The stand-in smoke: writes its arguments to a file and exits with SMOKE_EXIT.
    fs.writeFileSync(
      path.join(dir, "record.js"),
      "require('fs').writeFileSync('smoke-args.json', JSON.stringify(process.argv.slice(2)));\nprocess.exit(Number(process.env.SMOKE_EXIT));\n",
    );
    fs.writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({ name: "smoke-stand-in", private: true, scripts: { smoke: "node record.js" } }),
    );
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function smoke(args: string[], exitCode: number): Promise<number> {
    try {
      await execFileAsync(
        path.join(ROOT, "node_modules", ".bin", "ts-node"),
        ["-T", path.join(ROOT, "tools", "previewStack.ts"), "smoke", ...args],
        {
          cwd: dir,
          env: { ...process.env, SMOKE_EXIT: String(exitCode) },
        },
      );
      return 0;
    } catch (e) {
      return (e as { code: number }).code;
    }
  }

  test("passes --stack NAME and every later argument, in order, and exits 0 when the smoke test passes", async () => {
    expect(await smoke(["pr-7", "--skip-convergence", "--public-url", "http://127.0.0.1:25435"], 0)).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, "smoke-args.json"), "utf8"))).toEqual([
      "--stack",
      "pr-7",
      "--skip-convergence",
      "--public-url",
      "http://127.0.0.1:25435",
    ]);
  });

  test("exits with the smoke test's code: 1 for a failed check, 2 for bad usage", async () => {
    expect(await smoke(["pr-7"], 1)).toBe(1);
    expect(await smoke(["pr-7", "--bogus"], 2)).toBe(2);
  });

  test("a bad name is refused before the smoke test runs", async () => {
    fs.rmSync(path.join(dir, "smoke-args.json"), { force: true });
    expect(await smoke(["PR 7"], 0)).toBe(2);
    expect(fs.existsSync(path.join(dir, "smoke-args.json"))).toBe(false);
  });
});
