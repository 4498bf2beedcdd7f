/**
 * The library as users get it: `npm pack` of this package, installed from the tarball into a fresh
 * Pulumi TypeScript program in a temporary folder, which deploys a `Gateway` with `pulumi up`.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { ROOT } from "../helpers/program";
import { CliError, docker, inspect, PASSPHRASE, toolchainEnv } from "./harness";
import { IMAGES, publicChecks } from "./gateway";
import { describeE2E } from "./requirements";

const execFileAsync = promisify(execFile);

const PROGRAM = `import { Gateway } from "ai-gateway";

const gateway = new Gateway("team-gw", {
  profile: "small",
  httpPort: 8095,
  adminPort: 4095,
  ephemeral: true,
  apiKeys: [{ name: "ci", maxBudget: 5 }],
  litellmImage: ${JSON.stringify(IMAGES.litellmImage)},
  openWebuiImage: ${JSON.stringify(IMAGES.openWebuiImage)},
  postgresImage: ${JSON.stringify(IMAGES.postgresImage)},
  nginxImage: ${JSON.stringify(IMAGES.nginxImage)},
});

export const apiBaseUrl = gateway.apiBaseUrl;
export const apiKeys = gateway.apiKeys;
export const openWebuiApiKey = gateway.openWebuiApiKey;
`;

describeE2E("the npm package, installed into a new Pulumi program", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ai-gateway-e2e-library-"));
  const env = {
    ...(process.env as Record<string, string>),
    ...toolchainEnv(),
    PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
  };
  const pulumi = async (...args: string[]) => {
    try {
      return (
        await execFileAsync("pulumi", ["--non-interactive", "--color", "never", "--stack", "lib", ...args], {
          cwd: dir,
          env,
          maxBuffer: 64 << 20,
        })
      ).stdout;
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; code?: number };
      throw new CliError(args, { stdout: err.stdout ?? "", stderr: err.stderr ?? "", code: err.code ?? 1 });
    }
  };

  beforeAll(async () => {
    fs.mkdirSync(path.join(dir, ".state"));
    // npm pack runs `prepare` (the build), as publishing would.
    const packed = (await execFileAsync("npm", ["pack", "--pack-destination", dir, "--json"], { cwd: ROOT, maxBuffer: 64 << 20 })).stdout;
    const tarball = path.join(dir, JSON.parse(packed.slice(packed.indexOf("[")))[0].filename);
    const ours = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    fs.writeFileSync(
      path.join(dir, "package.json"),
      JSON.stringify({
        name: "team-gateway",
        private: true,
        dependencies: { "ai-gateway": `file:${tarball}`, "@pulumi/pulumi": ours.dependencies["@pulumi/pulumi"] },
        devDependencies: { typescript: ours.devDependencies.typescript, "@types/node": ours.devDependencies["@types/node"] },
      }),
    );
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: team-gateway\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n");
    fs.writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, target: "ES2022", module: "nodenext", moduleResolution: "nodenext", skipLibCheck: true },
      }),
    );
    fs.writeFileSync(path.join(dir, "index.ts"), PROGRAM);
    // --ignore-scripts: no dependency's install script may download anything (the toolchain has the plugins).
    await execFileAsync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts"], {
      cwd: dir,
      maxBuffer: 64 << 20,
    });
    await pulumi("stack", "init");
  });

  afterAll(async () => {
    await pulumi("destroy", "--yes").catch(() => undefined);
    const left = (await docker(["ps", "-aq", "--filter", "label=ai-gateway.gateway=team-gw-lib"])).stdout.split("\n").filter(Boolean);
    if (left.length > 0) {
      await docker(["rm", "-f", ...left], { allowFailure: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the package ships its runtime files and compiled library, not its tests", () => {
    const files = fs.readdirSync(path.join(dir, "node_modules", "ai-gateway"));
    expect(files.sort()).toEqual(["Pulumi.yaml", "README.md", "dist", "package.json", "runtime"]);
    // Every script the components run inside containers (runtime/), and nothing else there.
    expect(fs.readdirSync(path.join(dir, "node_modules", "ai-gateway", "runtime")).sort()).toEqual(
      fs.readdirSync(path.join(ROOT, "runtime")).sort(),
    );
    expect(fs.readdirSync(path.join(ROOT, "runtime")).sort()).toEqual([
      "litellm_keys.py",
      "open_webui_backup.py",
      "open_webui_config.py",
      "postgres-backup.sh",
      "postgres-start.sh",
    ]);
  });

  test("pulumi up deploys a Gateway from it: healthy containers named after it, its keys work", async () => {
    await pulumi("up", "--yes", "--skip-preview");
    for (const service of ["postgres", "litellm", "open-webui", "nginx"]) {
      expect((await inspect(`team-gw-lib-${service}`)).State.Health.Status).toBe("healthy");
    }
    const outputs = JSON.parse(await pulumi("stack", "output", "--json", "--show-secrets"));
    expect(outputs.apiBaseUrl).toBe("http://127.0.0.1:8095/api/litellm/v1");
    const checks = await publicChecks("http://127.0.0.1:8095", { ci: outputs.apiKeys.ci, "open-webui": outputs.openWebuiApiKey });
    expect(checks.withKey).toEqual({ ci: 200, "open-webui": 200 });
    await pulumi("preview", "--expect-no-changes");
  });
});
