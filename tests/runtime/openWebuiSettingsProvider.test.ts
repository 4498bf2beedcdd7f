/**
 * The Open WebUI settings step's dynamic provider (components/openWebuiSettings.ts) end to end
 * short of Pulumi and Docker: its exec goes through lib/dockerExec.ts to an engine on a unix socket
 * that runs the command for real in a network namespace where the Open WebUI stand-in listens on
 * Open WebUI's own 127.0.0.1:8080, as inside the container. The engine also answers like Docker
 * for a container that is gone (404) or stopped (409). The real engine and the serialized provider
 * under the Pulumi CLI are the end-to-end suite's to prove.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { OpenWebuiSettingsState, openWebuiSettingsProvider } from "../../components/openWebuiSettings";
import { runtimeFile } from "../../lib/runtimeFiles";
import { openWebuiDeclaredSettings, openWebuiEnv } from "../../lib/services";
import { inRootfs } from "../fixtures/nginx/nginxRunner";
import { NetNs } from "../helpers/netns";
import { newDataDir, socketioRequirement } from "../helpers/openWebuiStandin";
import { ROOT } from "../helpers/program";
import { envRecord } from "../helpers/envList";
import { describeWith, requirements } from "../helpers/requirements";

const FIXTURES = path.join(ROOT, "tests", "fixtures", "docker");
const ADMIN = { email: "admin@example.com", password: "generated-admin-password" };
const KEY = "sk-open-webui-key-one-0123456789abcdef";
const ROTATED = "sk-open-webui-key-two-0123456789abcdef";
const PUBLIC_URL = "http://127.0.0.1:8080";

interface Engine {
  readonly socket: string;
  /** Exec commands run, by container. */
  readonly execs: string[];
  close(): Promise<void>;
}

/** An engine whose container "open-webui" runs exec commands in `ns`; "gone" is 404, "stopped" 409. */
/** A fake engine whose execs run in `ns` with `containerEnv`, as Docker runs them with the container's environment. */
async function engine(ns: NetNs, containerEnv: () => Record<string, string>): Promise<Engine> {
  const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fake-engine-")), "docker.sock");
  const execs: string[] = [];
  const pending = new Map<string, string[]>();
  const exitCodes = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = req.url ?? "";
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (url === "/version") {
        return json(200, { ApiVersion: "1.51", MinAPIVersion: "1.24", Version: "fake" });
      }
      const create = /^\/v[0-9.]+\/containers\/([^/]+)\/exec$/.exec(url);
      if (create) {
        const name = decodeURIComponent(create[1]);
        if (name === "gone") return json(404, { message: "No such container: gone" });
        if (name === "stopped") return json(409, { message: "container stopped is not running" });
        const id = `exec${pending.size + exitCodes.size + 1}`;
        pending.set(id, JSON.parse(body).Cmd);
        execs.push(name);
        return json(201, { Id: id });
      }
      const inspect = /^\/v[0-9.]+\/exec\/([^/]+)\/json$/.exec(url);
      if (inspect && exitCodes.has(inspect[1])) {
        return json(200, { Running: false, ExitCode: exitCodes.get(inspect[1]) });
      }
      json(404, { message: `no route ${url}` });
    });
  });
  // Start: hijack like the engine, run the command with the stdin it sends, send stdout/stderr framed.
  server.on("upgrade", (req, sock) => {
    const id = /\/exec\/([^/]+)\/start$/.exec(req.url ?? "")?.[1] ?? "";
    const cmd = pending.get(id);
    if (!cmd) {
      sock.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    sock.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    const stdin: Buffer[] = [];
    sock.on("data", (c: Buffer) => stdin.push(c));
    sock.on("end", () => {
      const child = spawn("ip", ["netns", "exec", ns.name, ...cmd], { stdio: ["pipe", "pipe", "pipe"], env: containerEnv() });
      const frame = (stream: number) => (c: Buffer) => {
        const header = Buffer.alloc(8);
        header[0] = stream;
        header.writeUInt32BE(c.length, 4);
        sock.write(Buffer.concat([header, c]));
      };
      child.stdout.on("data", frame(1));
      child.stderr.on("data", frame(2));
      child.on("close", (code) => {
        exitCodes.set(id, code ?? -1);
        pending.delete(id);
        sock.end();
      });
      child.stdin.end(Buffer.concat(stdin));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, execs, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** WEBUI_SECRET_KEY: the stack uploads it as the container's key file (lib/constants.ts OPEN_WEBUI_SECRET_KEY_FILE). */
const SECRET_KEY = "secret-key-for-tests-0123456789abcdef";

describeWith(
  "Open WebUI settings step's provider (fake engine, real exec, stand-in Open WebUI on 127.0.0.1:8080)",
  [socketioRequirement(), requirements.bwrap(), requirements.python3(), requirements.netns()],
  () => {
    let ns: NetNs;
    let docker: Engine;
    let dataDir: string;
    let runDir: string;
    let engineEnvOverrides: Record<string, string> = {};

    const state = (key: string, overrides: Partial<OpenWebuiSettingsState> = {}): OpenWebuiSettingsState => ({
      dockerHost: `unix://${docker.socket}`,
      sshOpts: [],
      container: "ai-gateway-open-webui",
      adminEmail: ADMIN.email,
      settings: openWebuiDeclaredSettings({ publicUrl: PUBLIC_URL, apiKey: key }),
      script: runtimeFile("open_webui_config.py"),
      ...overrides,
    });

    beforeAll(async () => {
      ns = new NetNs();
      dataDir = newDataDir();
      runDir = fs.mkdtempSync(path.join(os.tmpdir(), "aigw-owui-run-"));
      // The container's key file, which the image's start.sh reads (and exports to the server) and
      // the settings script reads too: an exec's environment has no WEBUI_SECRET_KEY.
      const keyFile = path.join(runDir, "webui_secret_key");
      fs.writeFileSync(keyFile, SECRET_KEY, { mode: 0o600 });
      docker = await engine(ns, () => ({
        PATH: "/usr/bin:/bin",
        DATA_DIR: dataDir,
        WEBUI_SECRET_KEY_FILE: keyFile,
        ...envRecord(env),
        ...engineEnvOverrides,
      }));
      const env = openWebuiEnv({
        publicUrl: PUBLIC_URL,
        allowedOrigins: [PUBLIC_URL],
        apiKey: KEY,
        adminEmail: ADMIN.email,
        adminPassword: ADMIN.password,
      });
      const child = ns.start([
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
        "HOST=127.0.0.1",
        "PORT=8080",
        `DATA_DIR=${dataDir}`,
        `STANDIN_RUN_DIR=${runDir}`,
        `WEBUI_SECRET_KEY=${SECRET_KEY}`,
        ...env,
        "bwrap",
        ...inRootfs(
          runDir,
          ["python3", path.join(FIXTURES, "open_webui_standin.py")],
          ["--ro-bind", FIXTURES, FIXTURES, "--bind", dataDir, dataDir],
        ),
      ]);
      let out = "";
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`stand-in did not start: ${out}`)), 20_000);
        const seen = (c: Buffer) => {
          out += c;
          if (out.includes("listening on 127.0.0.1:8080")) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout!.on("data", seen);
        child.stderr!.on("data", seen);
      });
    });

    afterAll(async () => {
      ns?.dispose();
      await docker?.close();
      if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
    });

    test("create applies nothing on a fresh Open WebUI (its environment seeded the same); diff then plans no change", async () => {
      const created = await openWebuiSettingsProvider.create!(state(KEY));
      expect(created.id).toBe("ai-gateway-open-webui-settings");
      expect(created.outs.applied).toEqual([]);
      expect(await openWebuiSettingsProvider.diff!(created.id, created.outs, state(KEY))).toEqual({ changes: false });
      expect(docker.execs.every((c) => c === "ai-gateway-open-webui")).toBe(true);
    });

    test("a rotated key is a change of declaration; update puts it into Open WebUI, after which Open WebUI agrees", async () => {
      const olds = { ...state(KEY), applied: [] };
      expect(await openWebuiSettingsProvider.diff!("id", olds, state(ROTATED))).toEqual({ changes: true });
      const updated = await openWebuiSettingsProvider.update!("id", olds, state(ROTATED));
      expect(updated.outs.applied).toEqual(["openai"]);
      expect(await openWebuiSettingsProvider.diff!("id", updated.outs, state(ROTATED))).toEqual({ changes: false });
      // The old declaration no longer holds in Open WebUI: with nothing changed in the stack, drift.
      expect(await openWebuiSettingsProvider.diff!("id", state(KEY), state(KEY))).toEqual({ changes: true });
    });

    test("a missing or stopped container plans no change; an unreachable engine plans an update and says why", async () => {
      expect(
        await openWebuiSettingsProvider.diff!("id", state(ROTATED, { container: "gone" }), state(ROTATED, { container: "gone" })),
      ).toEqual({
        changes: false,
      });
      expect(
        await openWebuiSettingsProvider.diff!("id", state(ROTATED, { container: "stopped" }), state(ROTATED, { container: "stopped" })),
      ).toEqual({ changes: false });
      const nowhere = state(ROTATED, { dockerHost: "unix:///nonexistent/docker.sock" });
      const written: string[] = [];
      const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk: any) => (written.push(String(chunk)), true));
      try {
        expect(await openWebuiSettingsProvider.diff!("id", nowhere, nowhere)).toEqual({ changes: true });
      } finally {
        spy.mockRestore();
      }
      expect(written.join("")).toContain("could not ask Open WebUI whether its declared settings hold");
    });

    test("error text that quotes the declared key reaches the user scrubbed (Open WebUI's 422s quote the refused body)", async () => {
      // A script that fails echoing everything it was given, the key included, really run in the namespace.
      const echo = "import sys; sys.stderr.write('refused: ' + sys.stdin.read()); sys.exit(1)";
      const error = await openWebuiSettingsProvider.create!(state(ROTATED, { script: echo })).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(/^Open WebUI settings step failed \(Open WebUI refused a call\): refused: \{.*"key":"\[secret\]"/);
      expect(error?.message).not.toContain(ROTATED);
    });

    test("a refused token fails the step with Open WebUI's own text and no secret", async () => {
      // As if the container's secret key were not the one Open WebUI started with.
      engineEnvOverrides = { WEBUI_SECRET_KEY: "not-the-secret-open-webui-started-with" };
      try {
        const error = await openWebuiSettingsProvider.create!(state(ROTATED)).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error?.message).toContain(
          "Open WebUI settings step failed (Open WebUI refused a call): Open WebUI answered 401 to GET /openai/config",
        );
        expect(error?.message).not.toContain(ROTATED);
        expect(error?.message).not.toContain("not-the-secret");
      } finally {
        engineEnvOverrides = {};
      }
    });
  },
);
